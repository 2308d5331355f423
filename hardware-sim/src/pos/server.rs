//! The HTTP side: our own accept loop, so that the simulator can refuse connections
//! (listener dropped, same port bound again later) and reset a connection after a handler
//! has applied its change but before the answer is written.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tower::Service;

use super::graphql::PosSchema;
use super::state::SimState;

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct App {
    pub state: Arc<SimState>,
    pub schema: PosSchema,
    pub issuer: String,
    pub server: Weak<ServerCtl>,
}

/// Lets a handler reset its own connection.
#[derive(Clone)]
pub(crate) struct ConnHandle {
    kill: CancellationToken,
}

impl ConnHandle {
    /// Resets the connection this request came on; the answer is never written.
    pub(crate) async fn reset(&self) -> Response {
        self.kill.cancel();
        // The connection task drops this future together with the connection.
        std::future::pending().await
    }
}

struct Generation {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Owns the listener and can take it down and bring it back on the same address.
pub(crate) struct ServerCtl {
    addr: SocketAddr,
    router: OnceLock<Router>,
    generation: Mutex<Option<Generation>>,
}

impl ServerCtl {
    /// Binds `listen` (port 0 allowed) without serving yet.
    pub(crate) async fn bind(listen: SocketAddr) -> io::Result<(Arc<ServerCtl>, TcpListener)> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let ctl = Arc::new(ServerCtl {
            addr,
            router: OnceLock::new(),
            generation: Mutex::new(None),
        });
        Ok((ctl, listener))
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts serving on an already bound listener.
    pub(crate) async fn serve(&self, router: Router, listener: TcpListener) {
        let _ = self.router.set(router.clone());
        let mut generation = self.generation.lock().await;
        *generation = Some(spawn_generation(listener, router));
    }

    /// Stops the current listener without waiting (for `Drop`).
    pub(crate) fn stop_now(&self) {
        if let Ok(generation) = self.generation.try_lock()
            && let Some(current) = generation.as_ref()
        {
            current.stop.cancel();
        }
    }

    pub(crate) async fn is_online(&self) -> bool {
        self.generation.lock().await.is_some()
    }

    /// Takes the listener down (connects are refused) and closes open connections, or
    /// binds the same address again.
    pub(crate) async fn set_online(&self, online: bool) -> io::Result<()> {
        let mut generation = self.generation.lock().await;
        match (online, generation.take()) {
            (false, Some(current)) => {
                current.stop.cancel();
                let _ = current.task.await;
                tracing::info!(addr = %self.addr, "POS simulator offline: connections refused.");
            }
            (false, None) => {}
            (true, Some(current)) => *generation = Some(current),
            (true, None) => {
                let Some(router) = self.router.get() else {
                    return Err(io::Error::other("the server was never started"));
                };
                let listener = bind_again(self.addr).await?;
                *generation = Some(spawn_generation(listener, router.clone()));
                tracing::info!(addr = %self.addr, "POS simulator back online.");
            }
        }
        Ok(())
    }
}

/// Binds the address the simulator had; a just-closed socket may hold it for a moment.
async fn bind_again(addr: SocketAddr) -> io::Result<TcpListener> {
    let mut attempts = 0;
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn spawn_generation(listener: TcpListener, router: Router) -> Generation {
    let stop = CancellationToken::new();
    let task = tokio::spawn(accept_loop(listener, router, stop.clone()));
    Generation { stop, task }
}

async fn accept_loop(listener: TcpListener, router: Router, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, router.clone(), stop.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: keep serving the others.
                    tracing::warn!(error = %e, "Accept failed.");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, router: Router, stop: CancellationToken) {
    let _ = stream.set_nodelay(true);
    // A second handle on the socket, to turn the close into a reset when asked to.
    let twin = stream
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::net::TcpStream::from);
    let kill = CancellationToken::new();
    let handle = ConnHandle { kill: kill.clone() };
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        let mut router = router.clone();
        async move { router.call(request).await }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "Connection ended with an error.");
            }
        }
        _ = kill.cancelled() => reset(twin),
        _ = stop.cancelled() => {}
    }
}

/// Sets SO_LINGER to zero so that the last close sends RST instead of FIN.
fn reset(twin: Option<std::net::TcpStream>) {
    if let Some(twin) = twin
        && let Ok(twin) = TcpStream::from_std(twin)
    {
        let _ = twin.set_zero_linger();
    }
}
