# Homebrew formula for docker-credential-ecr-role, in homebrew-core style (tap
# layout today: publish install/homebrew as the repository homebrew-ecr-role, then
# `brew install <owner>/ecr-role/docker-credential-ecr-role`).
# A release sets url, homepage, head and sha256 with install/homebrew/bump.sh VERSION
# TARBALL, from Cargo.toml's `repository` (the one place the repository is named).
# No caveats: how to wire a registry is in `--help`, the man page and the README.
# CI runs this file's install and test blocks: install/homebrew/run-formula.rb.
class DockerCredentialEcrRole < Formula
  desc "Credential helper for Amazon ECR that assumes a role through your AWS profile"
  homepage "https://github.com/docker-credential-ecr-role/docker-credential-ecr-role"
  url "https://github.com/docker-credential-ecr-role/docker-credential-ecr-role/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "Apache-2.0"
  head "https://github.com/docker-credential-ecr-role/docker-credential-ecr-role.git", branch: "main"

  livecheck do
    url :stable
    strategy :github_latest
  end

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    generate_completions_from_executable(bin/"docker-credential-ecr-role", "completions")
    (man1/"docker-credential-ecr-role.1").write Utils.safe_popen_read(bin/"docker-credential-ecr-role", "man")
  end

  test do
    version_line = shell_output("#{bin}/docker-credential-ecr-role version")
    assert_match version.to_s, version_line unless version.to_s.start_with?("HEAD")
    output = pipe_output("#{bin}/docker-credential-ecr-role get", "index.docker.io\n", 1)
    assert_equal "credentials not found in native keychain\n", output
    assert_match "docker-credential-ecr-role", (man1/"docker-credential-ecr-role.1").read
  end
end
