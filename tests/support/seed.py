"""Builds the user story's IAM setup in a moto server, then turns IAM enforcement on.

Usage: seed.py ENDPOINT [--no-enforce | --bare]  — prints JSON with the access keys of
user-for-switch. --no-enforce leaves IAM enforcement off; --bare makes only the user,
its keys and the repository (for running the printed IAM commands).

The setup is the user story's (README, "The user story, end to end"):
user-for-switch (SwitchRolePolicy: sts:AssumeRole on ECRLoginAndPushRole only),
role ECRLoginAndPushRole (ECRPushAndLoginPolicy: push to test-repos, GetAuthorizationToken),
repository test-repos in ap-northeast-1. A second role, OtherRole, has the same ECR
policy but the user may not assume it. Unless policy files are given, a third role,
ECRPullRole, is one the user may also assume (for tests of registries mapped to
different roles). Policy documents may be given as files
(--switch-policy, --ecr-policy, --trust-policy) to load the helper's own `policy` output.
"""
import argparse
import json
import urllib.request

import boto3

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"


def default_policies():
    switch = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/ECRLoginAndPushRole",
        }],
    }
    ecr = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PushToOneRepository",
                "Effect": "Allow",
                "Action": [
                    "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                    "ecr:UploadLayerPart", "ecr:InitiateLayerUpload",
                    "ecr:BatchCheckLayerAvailability", "ecr:PutImage",
                ],
                "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/test-repos",
            },
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        ],
    }
    # moto does not honour a trust policy naming only the account root; name the user too.
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root",
                                  f"arn:aws:iam::{ACCOUNT}:user/user-for-switch"]},
            "Action": "sts:AssumeRole",
        }],
    }
    return switch, ecr, trust


def post(url, body=b"", headers=None):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    with urllib.request.urlopen(req) as resp:
        resp.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--switch-policy")
    ap.add_argument("--ecr-policy")
    ap.add_argument("--trust-policy")
    ap.add_argument("--no-enforce", action="store_true",
                    help="leave IAM enforcement off (for comparing who signs which call)")
    ap.add_argument("--bare", action="store_true",
                    help="only the user, its keys and the repository; no policies, roles or "
                         "enforcement (for running the printed IAM commands)")
    args = ap.parse_args()
    switch, ecr_policy, trust = default_policies()
    if args.switch_policy:
        switch = json.load(open(args.switch_policy))
    if args.ecr_policy:
        ecr_policy = json.load(open(args.ecr_policy))
    if args.trust_policy:
        trust = json.load(open(args.trust_policy))

    post(args.endpoint + "/moto-api/reset")
    post(args.endpoint + "/moto-api/seed?a=42")
    admin = dict(endpoint_url=args.endpoint, aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", region_name="us-east-1", **admin)

    iam.create_user(UserName="user-for-switch")
    key = iam.create_access_key(UserName="user-for-switch")["AccessKey"]
    # A user may have two keys (during a rotation): each is its own identity for the cache.
    key2 = iam.create_access_key(UserName="user-for-switch")["AccessKey"]
    if not args.bare:
        switch_arn = iam.create_policy(PolicyName="SwitchRolePolicy",
                                       PolicyDocument=json.dumps(switch))["Policy"]["Arn"]
        iam.attach_user_policy(UserName="user-for-switch", PolicyArn=switch_arn)

        ecr_arn = iam.create_policy(PolicyName="ECRPushAndLoginPolicy",
                                    PolicyDocument=json.dumps(ecr_policy))["Policy"]["Arn"]
        for role in ("ECRLoginAndPushRole", "OtherRole", "ECRPullRole"):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
            iam.attach_role_policy(RoleName=role, PolicyArn=ecr_arn)
        if not args.switch_policy:
            pull = dict(switch, Statement=[dict(switch["Statement"][0],
                                                Resource=f"arn:aws:iam::{ACCOUNT}:role/ECRPullRole")])
            pull_arn = iam.create_policy(PolicyName="SwitchToPullRolePolicy",
                                         PolicyDocument=json.dumps(pull))["Policy"]["Arn"]
            iam.attach_user_policy(UserName="user-for-switch", PolicyArn=pull_arn)

    boto3.client("ecr", region_name=REGION, **admin).create_repository(repositoryName="test-repos")

    # From now on every call is checked against IAM, as in AWS.
    if not (args.bare or args.no_enforce):
        post(args.endpoint + "/moto-api/reset-auth", b"0", {"Content-Type": "text/plain"})
    print(json.dumps({
        "account": ACCOUNT,
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "second_access_key_id": key2["AccessKeyId"],
        "second_secret_access_key": key2["SecretAccessKey"],
    }))

if __name__ == "__main__":
    main()
