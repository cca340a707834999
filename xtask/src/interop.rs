//! Every client against one running reference gateway, over plain HTTP and over HTTPS with a test
//! CA (made here by Debian's `openssl`): the Python package (requests, httpx), the Node package
//! (fetch, axios) and a Python backend that verifies the gateway's backend signature. Runs after
//! the languages' own steps, whose installed packages it uses. Then the Python client helpers'
//! tests through a gateway of their own (`tests/test_gateway_clients.py`: CI's lane leaves them
//! here, where the gateway is built), and the short form of the
//! credential rotation proof (`rotation::short`, ~20 s): the Rust, Python and Node metadata
//! providers signing through key rotations.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::node;
use crate::server::{free_port, spawn};
use crate::util::{root, run, target_dir};

pub(crate) fn test() -> Result<()> {
    let gateway_bin = crate::gateway::binary()?;
    let examples = root().join("examples").join("interop");
    let (python, node_modules) = crate::rotation::installed()?;

    let (backend_port, gateway_port, tls_port) = (free_port()?, free_port()?, free_port()?);
    let work = target_dir().join("interop");
    std::fs::create_dir_all(&work)?;
    let ca = test_pki(&work)?;
    let config = work.join("gateway.json");
    let template = std::fs::read_to_string(examples.join("gateway.json"))?;
    // the TLS listener presents the test certificate to every name (its default certificate)
    let plain = r#""gateway": { "error_prefix": "APIG" }"#;
    if !template.contains(plain) {
        bail!("examples/interop/gateway.json has no `{plain}` to add the TLS settings to");
    }
    let tls = r#""gateway": { "error_prefix": "APIG", "tls": { "default_certificate": { "cert": "server.pem", "key": "server.key" } } }"#;
    std::fs::write(&config, template.replace("{BACKEND_PORT}", &backend_port.to_string()).replace(plain, tls))?;

    let _backend = spawn(
        "python backend",
        Command::new(&python).arg(examples.join("python_backend.py")).arg(backend_port.to_string()),
        backend_port,
    )?;
    let _gateway = spawn(
        "apig-gateway",
        Command::new(&gateway_bin).arg("--config").arg(&config).args([
            "--listen",
            &format!("127.0.0.1:{gateway_port}"),
            "--listen-tls",
            &format!("127.0.0.1:{tls_port}"),
            "--access-log",
            "off",
        ]),
        gateway_port,
    )?;
    let node_path = std::env::join_paths([node_modules.as_path(), &node::package().join("node_modules")])?;
    for base in [format!("http://127.0.0.1:{gateway_port}"), format!("https://localhost:{tls_port}")] {
        eprintln!("interop: {base}");
        // each client trusts the test CA the way its users configure one
        run(Command::new(&python)
            .arg(examples.join("python_client.py"))
            .arg(&base)
            .env("REQUESTS_CA_BUNDLE", &ca)
            .env("SSL_CERT_FILE", &ca))?;
        run(Command::new("node")
            .arg(examples.join("node_client.cjs"))
            .arg(&base)
            .env("NODE_PATH", &node_path)
            .env("NODE_EXTRA_CA_CERTS", &ca))?;
    }
    eprintln!(
        "interop: every client accepted by the gateway over HTTP and HTTPS, the backend verified the gateway's signature"
    );
    eprintln!("interop: the Python client helpers through the gateway (requests, httpx, aiohttp)");
    crate::python::gateway_clients(&gateway_bin)?;
    eprintln!("interop: the credential rotation proof (short form; `cargo xtask rotation` runs 2 minutes)");
    crate::rotation::short()
}

/// A test CA and a certificate it signed for `localhost` and `127.0.0.1` (`server.pem`,
/// `server.key` in `dir`), made with Debian's `openssl`; returns the CA's PEM file.
fn test_pki(dir: &Path) -> Result<std::path::PathBuf> {
    let openssl = |args: &[&str]| -> Result<()> {
        run(Command::new("openssl").args(args).current_dir(dir).stdout(std::process::Stdio::null()))
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=apig interop test CA"],
        ]
        .concat(),
    )?;
    openssl(&[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]].concat())?;
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ])?;
    Ok(dir.join("ca.pem"))
}
