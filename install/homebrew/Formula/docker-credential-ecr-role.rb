# Homebrew formula for docker-credential-ecr-role (tap layout: publish install/homebrew
# as the repository homebrew-ecr-role, then `brew install <owner>/ecr-role/docker-credential-ecr-role`).
# install/homebrew/bump.sh VERSION TARBALL sets url, version and sha256 for a release.
class DockerCredentialEcrRole < Formula
  desc "Docker credential helper for Amazon ECR that switches role through your AWS profile"
  homepage "https://github.com/docker-credential-ecr-role/docker-credential-ecr-role"
  url "https://github.com/docker-credential-ecr-role/docker-credential-ecr-role/archive/refs/tags/v0.1.0.tar.gz"
  version "0.1.0"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "Apache-2.0"
  head "https://github.com/docker-credential-ecr-role/docker-credential-ecr-role.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", "--locked", *std_cargo_args
  end

  def caveats
    <<~EOS
      Wire a registry to the helper (docker's credHelpers and the helper's profile mapping):
        docker-credential-ecr-role setup --registry ACCOUNT.dkr.ecr.REGION.amazonaws.com --profile PROFILE
      Then check the whole chain, from docker to the ECR token:
        docker-credential-ecr-role doctor
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/docker-credential-ecr-role version")
    output = pipe_output("#{bin}/docker-credential-ecr-role get", "index.docker.io\n", 1)
    assert_equal "credentials not found in native keychain\n", output
  end
end
