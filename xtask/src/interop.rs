//! Every client against one running reference gateway: the Python package (requests, httpx), the
//! Node package (fetch, axios) and a Python backend that verifies the gateway's backend signature.
//! Runs after the languages' own steps, whose installed packages it uses.

use std::process::Command;

use anyhow::{Result, bail};

use crate::server::{free_port, spawn};
use crate::util::{cargo, root, run, target_dir};
use crate::{node, python};

pub(crate) fn test() -> Result<()> {
    run(cargo().args(["build", "-p", "apig-gateway", "--bin", "apig-gateway"]))?;
    let gateway_bin = target_dir().join("debug").join("apig-gateway");
    let examples = root().join("examples").join("interop");
    let python = python::bin(&python::venv(), "python");
    if !python.exists() {
        bail!("the Python venv is missing: run `cargo xtask test python` first");
    }
    let node_modules = node::scratch().join("node_modules");
    if !node_modules.join("apig-sdk").exists() {
        bail!("the packed Node package is not installed: run `cargo xtask test node` first");
    }

    let (backend_port, gateway_port) = (free_port()?, free_port()?);
    let work = target_dir().join("interop");
    std::fs::create_dir_all(&work)?;
    let config = work.join("gateway.json");
    let template = std::fs::read_to_string(examples.join("gateway.json"))?;
    std::fs::write(&config, template.replace("{BACKEND_PORT}", &backend_port.to_string()))?;

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
            "--access-log",
            "off",
        ]),
        gateway_port,
    )?;
    let base = format!("http://127.0.0.1:{gateway_port}");
    run(Command::new(&python).arg(examples.join("python_client.py")).arg(&base))?;
    let node_path = std::env::join_paths([node_modules.as_path(), &node::package().join("node_modules")])?;
    run(Command::new("node").arg(examples.join("node_client.cjs")).arg(&base).env("NODE_PATH", node_path))?;
    eprintln!("interop: every client accepted by the gateway, the backend verified the gateway's signature");
    Ok(())
}
