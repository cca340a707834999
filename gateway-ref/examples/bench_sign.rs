//! Prints the headers that sign one request now, for load generators that replay a fixed request
//! (`gateway-ref/bench/run.sh`): `bench_sign METHOD URL KEY SECRET` → `Name: value` lines.
//! The signature is valid for the gateway's skew window (15 minutes by default).

use std::process::ExitCode;

use apig::{SignableBody, SignableRequest, Signer};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [method, url, key, secret] = args.as_slice() else {
        eprintln!("usage: bench_sign METHOD URL KEY SECRET");
        return ExitCode::from(2);
    };
    let signed = Signer::new(key.as_str(), secret.as_str())
        .and_then(|s| s.sign(&SignableRequest::new(method, url, &[], SignableBody::Bytes(b""))));
    match signed {
        Ok(out) => {
            for (name, value) in out.headers() {
                println!("{name}: {value}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_sign: {e}");
            ExitCode::FAILURE
        }
    }
}
