//! An HTTP proxy of the test suite's own, between the helper and moto.
//!
//! It forwards each request to moto and
//! - counts calls per operation (`sts:AssumeRole`, `ecr:GetAuthorizationToken`, …),
//!   so tests can show a cache hit reaches nobody;
//! - rewrites `expiresAt` of ECR tokens to now + a lifetime (moto's is in 2015);
//! - answers ECR Public's GetAuthorizationToken itself (moto has no ECR Public);
//! - turns moto's error bodies into the ones real AWS sends (ECR, a JSON-protocol
//!   service, answers JSON; STS the standard awsQuery `<ErrorResponse><Error>`), so
//!   the helper is tested against the real protocols, not moto's quirks;
//! - injects faults for the first N calls of an operation;
//! - records who signed each call (the access key id of its SigV4 `Authorization`),
//!   and which role each access key that STS handed out belongs to, so tests can
//!   compare the calls of two programs as "signed by the keys of X / the role R";
//! - serves the other credential sources a profile can name, with fixed keys: the
//!   container endpoint (`/ecs-credentials`), instance metadata (`/latest/…`) and
//!   IAM Identity Center's GetRoleCredentials (`/federation/credentials`).
//!
//! Plain std: one thread per connection, one request per connection (`Connection: close`).
//! The same proxy runs as a program for the demo and the benchmark
//! (`examples/aws_proxy.rs`), where `GET /proxy-api/counts` answers the counts.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;

/// The password the proxy's ECR Public tokens decode to.
pub const PUBLIC_PASSWORD: &str = "public-ecr-token";

/// A fault to inject instead of (or around) forwarding.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this HTTP status and AWS error code (JSON and XML bodies both carry it).
    Error { status: u16, code: &'static str },
    /// Wait, then forward.
    Delay(Duration),
    /// Accept the request and never answer (until the helper gives up).
    BlackHole,
    /// Answer 200 with a body that is not what the protocol expects.
    Malformed,
    /// Close the connection without answering.
    Drop,
    /// Answer with an error whose message is the whole request body (a lying endpoint
    /// that echoes what it was sent: a web identity token, say).
    EchoBody,
    /// Answer `sts:GetCallerIdentity` with this caller ARN, whatever it holds (XML-escaped).
    CallerArn(String),
    /// Answer with this status, code and message, whatever they hold (escape
    /// sequences, huge strings): a lying endpoint.
    Refuse {
        status: u16,
        code: String,
        message: String,
    },
    /// Answer with an error whose message echoes the request's session token.
    EchoSessionToken,
    /// Answer 400 with an error body of this many bytes, streamed (chunked).
    HugeBody(u64),
}

struct State {
    upstream: String,
    counts: Mutex<BTreeMap<String, usize>>,
    token_ttl_secs: AtomicU64,
    token_padding: AtomicU64,
    token_per_caller: AtomicBool,
    faults: Mutex<Vec<(String, usize, Fault)>>,
    secrets: Mutex<Vec<String>>,
    bodies: Mutex<Vec<(String, String)>>,
    calls: Mutex<Vec<Call>>,
    issued: Mutex<BTreeMap<String, String>>,
    stopped: AtomicBool,
}

/// One call as it reached the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `sts:AssumeRole`, `ecr:GetAuthorizationToken`, `imds:credentials`, …
    pub operation: String,
    /// The access key id that signed it (`None`: unsigned, or a bearer token).
    pub signer: Option<String>,
    /// For AssumeRole*: the role asked for.
    pub role_arn: Option<String>,
}

/// The access key the container endpoint hands out.
pub const ECS_KEY: &str = "ASIAECSCONTAINERKEY1";
/// The access key instance metadata hands out.
pub const IMDS_KEY: &str = "ASIAINSTANCEROLEKEY1";
/// The access key SSO's GetRoleCredentials hands out.
pub const SSO_KEY: &str = "ASIASSOROLECREDKEY01";

/// A running proxy; stops accepting when dropped.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`: give it to the helper as `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    state: Arc<State>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            upstream: upstream.trim_start_matches("http://").to_string(),
            counts: Mutex::new(BTreeMap::new()),
            token_ttl_secs: AtomicU64::new(12 * 3600),
            token_padding: AtomicU64::new(0),
            token_per_caller: AtomicBool::new(false),
            faults: Mutex::new(Vec::new()),
            secrets: Mutex::new(Vec::new()),
            bodies: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            issued: Mutex::new(BTreeMap::new()),
            stopped: AtomicBool::new(false),
        });
        let accept_state = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if accept_state.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let state = accept_state.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &state);
                });
            }
        });
        Proxy { endpoint, state }
    }

    /// How many calls of `operation` (e.g. `sts:AssumeRole`) arrived.
    pub fn count(&self, operation: &str) -> usize {
        self.state
            .counts
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// How many calls arrived in all.
    pub fn total(&self) -> usize {
        self.state.counts.lock().unwrap().values().sum()
    }

    /// Every operation's count.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.state.counts.lock().unwrap().clone()
    }

    /// The request bodies of every call of `operation`, in order (e.g. AssumeRole's form).
    pub fn bodies(&self, operation: &str) -> Vec<String> {
        self.state
            .bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// Every call, in order, with who signed it.
    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The role (ARN) an access key that STS handed out through this proxy belongs to.
    pub fn role_of_key(&self, access_key_id: &str) -> Option<String> {
        self.state
            .issued
            .lock()
            .unwrap()
            .get(access_key_id)
            .cloned()
    }

    /// Forgets the calls recorded so far (the counts stay).
    pub fn clear_calls(&self) {
        self.state.calls.lock().unwrap().clear();
    }

    /// The role secrets (secret keys, session tokens) AssumeRole handed out through this proxy.
    pub fn role_secrets(&self) -> Vec<String> {
        self.state.secrets.lock().unwrap().clone()
    }

    /// Sets the lifetime of the tokens it hands out (expiresAt = now + this).
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.state
            .token_ttl_secs
            .store(ttl.as_secs(), Ordering::SeqCst);
    }

    /// Makes ECR's passwords `extra` bytes longer (a token larger than any real one).
    /// Gives each caller its own ECR password, `<moto's password>-<caller's access key
    /// id>` (moto hands every caller the same one, so a token answered to the wrong
    /// caller would pass unseen).
    pub fn set_token_per_caller(&self, on: bool) {
        self.state.token_per_caller.store(on, Ordering::SeqCst);
    }

    pub fn set_token_padding(&self, extra: u64) {
        self.state.token_padding.store(extra, Ordering::SeqCst);
    }

    /// Injects `fault` into the next `times` calls of `operation`.
    pub fn inject(&self, operation: &str, times: usize, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap()
            .push((operation.to_string(), times, fault));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
    }
}

/// A parsed HTTP message: the first line, the headers, the body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads a message: head, then a body by Content-Length, chunked, or (responses) to EOF.
    fn read(reader: &mut impl BufRead, to_eof: bool) -> std::io::Result<Option<Message>> {
        let mut start = String::new();
        if reader.read_line(&mut start)? == 0 {
            return Ok(None);
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut msg = Message {
            start: start.trim_end().to_string(),
            headers,
            body: Vec::new(),
        };
        if msg
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                msg.body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(len) = msg
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            msg.body = vec![0; len];
            reader.read_exact(&mut msg.body)?;
        } else if to_eof {
            reader.read_to_end(&mut msg.body)?;
        }
        Ok(Some(msg))
    }

    /// Writes the message with a fresh Content-Length and `Connection: close`.
    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut head = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            if !["content-length", "transfer-encoding", "connection"]
                .iter()
                .any(|h| k.eq_ignore_ascii_case(h))
            {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        out.flush()
    }
}

/// The operation a request calls, e.g. `sts:AssumeRole` or `ecr:GetAuthorizationToken`.
fn operation(req: &Message) -> String {
    let path = req.start.split(' ').nth(1).unwrap_or("");
    if path.starts_with("/ecs-credentials") {
        return "ecs:credentials".into();
    }
    if path.starts_with("/latest/") {
        return "imds:credentials".into();
    }
    if path.starts_with("/federation/credentials") {
        return "sso:GetRoleCredentials".into();
    }
    if let Some(target) = req.header("x-amz-target") {
        let (service, op) = target.split_once('.').unwrap_or(("", target));
        let service = match service {
            "AmazonEC2ContainerRegistry_V20150921" => "ecr",
            "SpencerFrontendService" => "ecr-public",
            other => other,
        };
        return format!("{service}:{op}");
    }
    let body = String::from_utf8_lossy(&req.body);
    let action = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("unknown");
    format!("sts:{action}")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn response(status: u16, content_type: &str, body: Vec<u8>) -> Message {
    Message {
        start: format!("HTTP/1.1 {status} X"),
        headers: vec![("Content-Type".into(), content_type.into())],
        body,
    }
}

/// The access key id in a SigV4 `Authorization` header.
fn signer(req: &Message) -> Option<String> {
    let auth = req.header("authorization")?;
    let credential = auth.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_string())
}

/// A form field of a query-protocol body (`RoleArn=arn%3A…`), decoded.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let body = String::from_utf8_lossy(body);
    let value = body
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))?;
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The text between `<tag>` and `</tag>` in an XML body.
fn xml_value(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..start + len].to_string())
}

/// An RFC 3339 UTC time, `secs` after the epoch (for credential endpoints' `Expiration`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Answers the credential sources that are not AWS APIs (container, instance metadata, SSO).
fn credential_source(op: &str, req: &Message) -> Option<Message> {
    let path = req.start.split(' ').nth(1).unwrap_or("");
    let expiry = now() + 3600;
    let json = |v: serde_json::Value| {
        Some(response(
            200,
            "application/json",
            v.to_string().into_bytes(),
        ))
    };
    match op {
        "ecs:credentials" => json(serde_json::json!({
            "AccessKeyId": ECS_KEY, "SecretAccessKey": "ecs-secret", "Token": "ecs-token",
            "Expiration": rfc3339(expiry),
        })),
        "imds:credentials" => {
            if req.start.starts_with("PUT") {
                let mut token = response(200, "text/plain", b"imds-session-token".to_vec());
                token.headers.push((
                    "x-aws-ec2-metadata-token-ttl-seconds".into(),
                    "21600".into(),
                ));
                return Some(token);
            }
            match path {
                "/latest/meta-data/iam/security-credentials/" => {
                    Some(response(200, "text/plain", b"instance-role".to_vec()))
                }
                "/latest/meta-data/iam/security-credentials/instance-role" => {
                    json(serde_json::json!({
                        "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": IMDS_KEY,
                        "SecretAccessKey": "imds-secret", "Token": "imds-token",
                        "Expiration": rfc3339(expiry), "LastUpdated": rfc3339(now()),
                    }))
                }
                _ => Some(response(404, "text/plain", b"not found".to_vec())),
            }
        }
        "sso:GetRoleCredentials" => json(serde_json::json!({"roleCredentials": {
            "accessKeyId": SSO_KEY, "secretAccessKey": "sso-secret", "sessionToken": "sso-token",
            "expiration": expiry * 1000,
        }})),
        _ => None,
    }
}

/// An AWS error answer in the protocol of the operation (STS: XML; ECR: JSON).
fn error_response(op: &str, status: u16, code: &str, message: &str) -> Message {
    if op.starts_with("sts:") {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error></ErrorResponse>",
            esc(code),
            esc(message)
        );
        response(status, "text/xml", body.into_bytes())
    } else {
        let body = serde_json::json!({"__type": code, "message": message});
        response(
            status,
            "application/x-amz-json-1.1",
            body.to_string().into_bytes(),
        )
    }
}

fn handle(conn: TcpStream, state: &State) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let Some(mut req) = Message::read(&mut reader, false)? else {
        return Ok(());
    };
    // The proxy's own API, for programs that run it (the demo, the benchmark): the counts.
    if req.start.starts_with("GET /proxy-api/counts") {
        let counts = serde_json::to_vec(&*state.counts.lock().unwrap()).unwrap_or_default();
        return response(200, "application/json", counts).write(&mut &conn);
    }
    let op = operation(&req);
    state.calls.lock().unwrap().push(Call {
        operation: op.clone(),
        signer: signer(&req),
        role_arn: form_field(&req.body, "RoleArn"),
    });
    *state.counts.lock().unwrap().entry(op.clone()).or_insert(0) += 1;
    state
        .bodies
        .lock()
        .unwrap()
        .push((op.clone(), String::from_utf8_lossy(&req.body).into_owned()));
    let mut out = conn;

    let fault = {
        let mut faults = state.faults.lock().unwrap();
        let found = faults.iter_mut().find(|(o, n, _)| *o == op && *n > 0);
        found.map(|(_, n, f)| {
            *n -= 1;
            f.clone()
        })
    };
    match fault {
        Some(Fault::Error { status, code }) => {
            let body = if op.starts_with("sts:") {
                format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error></ErrorResponse>")
                    .into_bytes()
            } else {
                format!("{{\"__type\":\"{code}\",\"message\":\"injected\"}}").into_bytes()
            };
            let ct = if op.starts_with("sts:") {
                "text/xml"
            } else {
                "application/x-amz-json-1.1"
            };
            return response(status, ct, body).write(&mut out);
        }
        Some(Fault::Refuse {
            status,
            code,
            message,
        }) => {
            return error_response(&op, status, &code, &message).write(&mut out);
        }
        Some(Fault::HugeBody(size)) => {
            out.write_all(
                b"HTTP/1.1 400 X\r\nContent-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )?;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < size {
                let n = chunk.len().min((size - sent) as usize);
                out.write_all(format!("{n:x}\r\n").as_bytes())?;
                out.write_all(&chunk[..n])?;
                out.write_all(b"\r\n")?;
                sent += n as u64;
            }
            return out.write_all(b"0\r\n\r\n");
        }
        Some(Fault::EchoBody) => {
            // Its most interesting field first (the cut of a long line keeps it).
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let token = form_field(&req.body, "WebIdentityToken").unwrap_or_default();
            return error_response(
                &op,
                400,
                "ValidationError",
                &format!("bad request {token} {body}"),
            )
            .write(&mut out);
        }
        Some(Fault::EchoSessionToken) => {
            let token = req.header("x-amz-security-token").unwrap_or("").to_string();
            return error_response(
                &op,
                400,
                "ValidationException",
                &format!("bad token {token}"),
            )
            .write(&mut out);
        }
        Some(Fault::BlackHole) => {
            std::thread::sleep(Duration::from_secs(600));
            return Ok(());
        }
        Some(Fault::Drop) => return Ok(()),
        Some(Fault::CallerArn(arn)) => {
            let arn = arn
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\n', "&#10;")
                .replace('\r', "&#13;");
            let body = format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            );
            return response(200, "text/xml", body.into_bytes()).write(&mut out);
        }
        Some(Fault::Malformed) => {
            return response(
                200,
                "application/x-amz-json-1.1",
                b"{\"authorizationData\": [ {".to_vec(),
            )
            .write(&mut out);
        }
        Some(Fault::Delay(d)) => std::thread::sleep(d),
        None => {}
    }

    if let Some(answer) = credential_source(&op, &req) {
        return answer.write(&mut out);
    }
    let ttl = state.token_ttl_secs.load(Ordering::SeqCst);
    if op == "ecr-public:GetAuthorizationToken" {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("AWS:{PUBLIC_PASSWORD}"));
        let body = serde_json::json!({
            "authorizationData": {"authorizationToken": token, "expiresAt": now() + ttl}
        });
        return response(
            200,
            "application/x-amz-json-1.1",
            body.to_string().into_bytes(),
        )
        .write(&mut out);
    }

    // Forward to moto, one request per connection.
    req.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("connection"));
    let mut upstream = TcpStream::connect(&state.upstream)?;
    req.write(&mut upstream)?;
    let mut upstream_reader = BufReader::new(upstream);
    let Some(mut resp) = Message::read(&mut upstream_reader, true)? else {
        return Ok(());
    };
    if op.starts_with("sts:AssumeRole") {
        let body = String::from_utf8_lossy(&resp.body);
        if let (Some(key), Some(role)) = (
            xml_value(&body, "AccessKeyId"),
            form_field(&req.body, "RoleArn"),
        ) {
            state.issued.lock().unwrap().insert(key, role);
        }
        for tag in ["SecretAccessKey", "SessionToken"] {
            if let Some(value) = body
                .split(&format!("<{tag}>"))
                .nth(1)
                .and_then(|rest| rest.split(&format!("</{tag}>")).next())
            {
                state.secrets.lock().unwrap().push(value.to_string());
            }
        }
    }
    if (op.starts_with("ecr:") || op.starts_with("sts:"))
        && !resp.start.contains(" 200")
        && resp.body.trim_ascii_start().starts_with(b"<")
    {
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        let code = xml_value(&body, "Code").unwrap_or_else(|| "UnknownError".into());
        let message = xml_value(&body, "Message").unwrap_or_default();
        let status: u16 = resp
            .start
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(500);
        return error_response(&op, status, &code, &message).write(&mut out);
    }
    if op == "ecr:GetAuthorizationToken"
        && resp.start.contains(" 200")
        && let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&resp.body)
    {
        let padding = state.token_padding.load(Ordering::SeqCst) as usize;
        let caller = state
            .token_per_caller
            .load(Ordering::SeqCst)
            .then(|| signer(&req))
            .flatten();
        if let Some(items) = json["authorizationData"].as_array_mut() {
            for item in items {
                item["expiresAt"] = serde_json::json!(now().saturating_add(ttl));
                if let Some(caller) = &caller
                    && let Some(token) = item["authorizationToken"].as_str()
                    && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token)
                {
                    let text = format!("{}-{caller}", String::from_utf8_lossy(&decoded));
                    item["authorizationToken"] = base64::engine::general_purpose::STANDARD
                        .encode(text)
                        .into();
                }
                if padding > 0
                    && let Some(token) = item["authorizationToken"].as_str()
                    && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token)
                {
                    let mut text = String::from_utf8_lossy(&decoded).into_owned();
                    text.push_str(&"p".repeat(padding));
                    item["authorizationToken"] = base64::engine::general_purpose::STANDARD
                        .encode(text)
                        .into();
                }
            }
        }
        resp.body = json.to_string().into_bytes();
    }
    resp.write(&mut out)
}
