//! Servers the checks start (gateways, backends, local package registries): child processes
//! that are killed when dropped, so a failing step never leaves one behind.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A child process killed when dropped, so a failing step never leaves servers behind.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn wait_ready(name: &str, port: u16, server: &mut Server) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = server.0.try_wait()? {
            bail!("{name} exited before listening ({status})");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{name} is not listening on {addr} after 30 s")
}

pub(crate) fn spawn(name: &str, cmd: &mut Command, port: u16) -> Result<Server> {
    eprintln!("+ {name}: {cmd:?}");
    let mut server = Server(cmd.stdin(Stdio::null()).spawn().with_context(|| format!("cannot start {name}"))?);
    wait_ready(name, port, &mut server)?;
    Ok(server)
}
