# Runs a Homebrew formula's `install` and `test do` blocks without Homebrew, so CI
# proves the formula builds and works (Homebrew itself cannot run on CI's Linux
# machine). Also checks the audit rules that can be checked without Homebrew.
#
#   ruby install/homebrew/run-formula.rb FORMULA SOURCE_DIR PREFIX
#   ruby install/homebrew/run-formula.rb --audit-only FORMULA
#
# SOURCE_DIR is an unpacked source archive (what the formula's `url` downloads;
# CI makes one with `git archive`), PREFIX an empty directory playing the keg.
#
# The DSL below is the part of Homebrew's `Formula` this formula uses, written to
# behave as Homebrew's does. `std_cargo_args` and
# `generate_completions_from_executable` follow Homebrew/brew's
# Library/Homebrew/formula.rb (as of commit 07c559f0504238e6f31b40d3d8e30c288cadd2e3):
#   def std_cargo_args(root: prefix, path: ".")
#     ["--jobs", ENV.make_jobs.to_s, "--locked", "--root=#{root}", "--path=#{path}"]
#   end
# and completions are written to bash_completion/NAME, zsh_completion/_NAME and
# fish_completion/NAME.fish from `EXECUTABLE ARGS... SHELL`.

require "open3"
require "pathname"
require "fileutils"

# Homebrew's Pathname#write (extend/pathname.rb): creates the parent directory and
# refuses to overwrite.
class Pathname
  alias plain_write write

  def write(content, *args, **kwargs)
    raise "Will not overwrite #{self}" if exist?

    dirname.mkpath
    plain_write(content, *args, **kwargs)
  end
end

# The slice of Homebrew's Formula DSL this project's formula uses.
class Formula
  include FileUtils

  class << self
    attr_reader :fields, :test_block, :build_deps

    def inherited(subclass)
      super
      subclass.instance_variable_set(:@fields, {})
      subclass.instance_variable_set(:@build_deps, [])
    end

    %i[desc homepage url sha256 license version].each do |field|
      define_method(field) { |value| @fields[field] = value }
    end

    def head(url, branch: nil) = (@fields[:head] = [url, branch])
    def livecheck(&block) = (@fields[:livecheck] = block)
    def test(&block) = (@test_block = block)

    def depends_on(spec)
      name, kind = spec.is_a?(Hash) ? spec.first : [spec, :runtime]
      @build_deps << [name, kind]
    end
  end

  attr_reader :prefix

  def initialize(prefix) = (@prefix = Pathname(prefix))

  def name = self.class.name.gsub(/(?<!^)([A-Z])/, '-\1').downcase
  def bin = prefix/"bin"
  def share = prefix/"share"
  def man = share/"man"
  def man1 = man/"man1"
  def bash_completion = prefix/"etc/bash_completion.d"
  def zsh_completion = share/"zsh/site-functions"
  def fish_completion = share/"fish/vendor_completions.d"

  def version
    url = self.class.fields[:url].to_s
    self.class.fields[:version] || url[/v?(\d+(?:\.\d+)+)\.tar\.gz\z/, 1]
  end

  # Homebrew's: --jobs, --locked, --root, --path (see the header).
  def std_cargo_args(root: prefix, path: ".")
    ["--jobs", (ENV["HOMEBREW_MAKE_JOBS"] || "2").to_s, "--locked", "--root=#{root}", "--path=#{path}"]
  end

  def system(*args)
    puts "==> #{args.join(" ")}"
    Kernel.system(*args.map(&:to_s)) || raise("failed: #{args.join(" ")}")
  end

  def generate_completions_from_executable(*commands, base_name: name, shells: %i[bash zsh fish])
    paths = {
      bash: bash_completion/base_name,
      zsh:  zsh_completion/"_#{base_name}",
      fish: fish_completion/"#{base_name}.fish",
    }
    shells.each do |shell|
      paths[shell].write(safe_popen_read({ "SHELL" => shell.to_s }, *commands, shell.to_s))
    end
  end

  def safe_popen_read(*args)
    env = args.first.is_a?(Hash) ? args.shift : {}
    out, status = Open3.capture2(env, *args.map(&:to_s))
    raise "failed: #{args.join(" ")}" unless status.success?

    out
  end

  # test do helpers (Homebrew's, from its FormulaAssertions).
  def shell_output(cmd, result = 0)
    out, status = Open3.capture2e(cmd)
    raise "`#{cmd}` exited #{status.exitstatus}, expected #{result}:\n#{out}" if status.exitstatus != result

    out
  end

  def pipe_output(cmd, input = nil, result = nil)
    out, status = Open3.capture2(cmd, stdin_data: input.to_s)
    raise "`#{cmd}` exited #{status.exitstatus}, expected #{result}" if result && status.exitstatus != result

    out
  end

  def assert_match(pattern, text)
    ok = pattern.is_a?(Regexp) ? pattern.match?(text) : text.include?(pattern.to_s)
    raise "expected #{text.inspect} to match #{pattern.inspect}" unless ok
  end

  def assert_equal(expected, actual)
    raise "expected #{expected.inspect}, got #{actual.inspect}" unless expected == actual
  end

  def assert_path_exists(path)
    raise "expected #{path} to exist" unless Pathname(path).exist?
  end

  def testpath = (@testpath ||= Pathname(Dir.mktmpdir("formula-test")))
end

require "tmpdir"

# Homebrew's Utils.safe_popen_read: the command's stdout, or an error if it failed.
module Utils
  def self.safe_popen_read(*args)
    env = args.first.is_a?(Hash) ? args.shift : {}
    out, status = Open3.capture2(env, *args.map(&:to_s))
    raise "failed: #{args.join(" ")}" unless status.success?

    out
  end
end

# Audit rules of `brew audit --strict --new` that need no Homebrew, for this formula.
def audit(klass, text)
  problems = []
  desc = klass.fields[:desc].to_s
  problems << "desc is #{desc.length} characters (80 at most)" if desc.length > 80
  problems << "desc must not start with an article" if desc.match?(/\A(a|an|the)\s/i)
  problems << "desc must not end with a full stop" if desc.end_with?(".")
  problems << "desc must not include the formula name" if desc.downcase.include?("docker-credential-ecr-role")
  url_version = klass.fields[:url].to_s[/v?(\d+(?:\.\d+)+)\.tar\.gz\z/, 1]
  problems << "`version` is redundant with the url" if klass.fields[:version] && url_version
  problems << "no license" unless klass.fields[:license]
  problems << "sha256 is not 64 hex digits" unless klass.fields[:sha256].to_s.match?(/\A\h{64}\z/)
  problems << "no livecheck" unless klass.fields[:livecheck]
  # Homebrew's cookbook: caveats are for Homebrew-specific matters, not usage steps.
  problems << "caveats give usage steps (they belong in the docs)" if text.match?(/def caveats/)
  problems << "`cargo install` must not repeat std_cargo_args' --locked" if text.match?(/"--locked",\s*\*std_cargo_args/)
  unless klass.build_deps.include?(["rust", :build])
    problems << "needs depends_on \"rust\" => :build"
  end
  problems
end

audit_only = ARGV.delete("--audit-only")
formula_file, source_dir, prefix = ARGV
abort "usage: run-formula.rb [--audit-only] FORMULA [SOURCE_DIR PREFIX]" unless formula_file && (audit_only || prefix)

text = File.read(formula_file)
load formula_file
klass = Object.const_get(File.basename(formula_file, ".rb").split("-").map(&:capitalize).join)

problems = audit(klass, text)
unless problems.empty?
  warn "audit: #{problems.join("; ")}"
  exit 1
end
puts "audit: ok"
exit 0 if audit_only

formula = klass.new(prefix)
Dir.chdir(source_dir) { formula.install }
puts "install: ok"
begin
  Dir.chdir(formula.testpath) { formula.instance_eval(&klass.test_block) }
ensure
  # Homebrew removes the test's temporary directory; so does this.
  FileUtils.rm_rf(formula.testpath)
end
puts "test do: ok"
