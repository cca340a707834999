//! A client signs a request and sends it over a real socket; a server on 127.0.0.1 verifies it.
//!
//! `cargo run -p apig --example sign_and_verify`

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use apig::{SignableBody, SignableRequest, Signer, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> Result<String, String> {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        serve_one(stream).map_err(|e| e.to_string())
    });

    // Client: sign, then send exactly what was signed plus the headers the signer added.
    let signer = Signer::new("AK-EXAMPLE", "secret-example")?;
    let url = format!("http://{addr}/v1/items?limit=2");
    let body = br#"{"name":"widget"}"#;
    let headers = [("Content-Type", "application/json")];
    let signed = signer.sign(&SignableRequest::new("POST", &url, &headers, SignableBody::Bytes(body)))?;
    let mut stream = TcpStream::connect(addr)?;
    let mut head = format!("POST /v1/items?limit=2 HTTP/1.1\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers.iter().map(|(n, v)| (*n, *v)).chain(signed.headers()) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    println!("client got: {}", response.lines().next().unwrap_or(""));

    let verdict = server.join().map_err(|_| "server thread failed")??;
    println!("server: {verdict}");
    Ok(())
}

/// Reads one HTTP/1.1 request, verifies it, answers 200 or 401.
fn serve_one(stream: TcpStream) -> std::io::Result<String> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;

    let verifier = Verifier::new(HashMap::from([("AK-EXAMPLE".to_owned(), "secret-example".to_owned())]));
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let result = verifier.verify(&SignableRequest::new(&method, &target, &pairs, SignableBody::Bytes(&body)));
    let (status, verdict) = match &result {
        Ok(v) => ("200 OK", format!("accepted {method} {target} from {}", v.access_key)),
        Err(e) => ("401 Unauthorized", format!("rejected: {e}")),
    };
    let mut stream = stream;
    write!(stream, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    if result.is_err() {
        return Err(std::io::Error::other(verdict));
    }
    Ok(verdict)
}
