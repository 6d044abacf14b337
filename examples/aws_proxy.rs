//! The test suite's AWS proxy (`tests/support/proxy.rs`) as a program, so the demo and
//! the benchmark run behind the very proxy the tests use: it gives ECR tokens a real
//! expiry (moto's are in 2015), answers ECR Public, normalises moto's error bodies and
//! counts calls (`GET /proxy-api/counts`).
//!
//!     aws_proxy http://127.0.0.1:MOTO_PORT     # prints its endpoint, serves until killed

#[allow(dead_code)]
#[path = "../tests/support/proxy.rs"]
mod proxy;

use std::io::Write;

fn main() {
    let Some(upstream) = std::env::args().nth(1) else {
        eprintln!("usage: aws_proxy http://HOST:PORT");
        std::process::exit(2);
    };
    let proxy = proxy::Proxy::start(&upstream);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", proxy.endpoint);
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
