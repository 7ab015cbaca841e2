//! The floor: the least a hyper 1 server can do. It answers every request with
//! the same small JSON body, so whatever archil-mock spends above it is ours.
//! It is set up like archil-mock (multi-thread tokio runtime, one task per
//! connection, `TCP_NODELAY`, HTTP/1.1 keep-alive) and prints its address on
//! the first stdout line in the same form.
//!
//! Usage: `floor [PORT] [BODY_BYTES]`: port 0 (the default) picks a free one;
//! BODY_BYTES pads the body to that size, to separate the cost of sending a
//! larger answer from the cost of computing it (a diagnostic; the bench uses
//! the small body).

use std::convert::Infallible;
use std::io::Write;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// About the size of archil-mock's smallest success envelope.
const BODY: &[u8] = br#"{"success":true,"data":{"message":"ok"}}"#;

fn main() {
    let number = |i: usize| -> usize {
        match std::env::args().nth(i).map(|p| p.parse()) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(e)) => {
                eprintln!("floor: bad argument {i}: {e}");
                std::process::exit(2);
            }
        }
    };
    let (port, size) = (number(1), number(2));
    let Ok(port) = u16::try_from(port) else {
        eprintln!("floor: bad port {port}");
        std::process::exit(2);
    };
    let body = padded(size.min(16 << 20));
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
        .block_on(serve(port, body));
}

/// The fixed body, padded with spaces inside the object to `size` bytes.
fn padded(size: usize) -> Bytes {
    if size <= BODY.len() {
        return Bytes::from_static(BODY);
    }
    let mut body = BODY[..BODY.len() - 1].to_vec();
    body.resize(size - 1, b' ');
    body.push(b'}');
    Bytes::from(body)
}

async fn serve(port: u16, body: Bytes) {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("floor binds 127.0.0.1");
    let addr = listener
        .local_addr()
        .expect("a bound socket has an address");
    println!("floor listening on http://{addr}");
    let _ = std::io::stdout().flush();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(
                    TokioIo::new(stream),
                    service_fn(move |req| answer(req, body.clone())),
                )
                .await;
        });
    }
}

async fn answer(req: Request<Incoming>, body: Bytes) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body as archil-mock does, so POST costs the same transport work.
    let _ = req.into_body().collect().await;
    let mut response = Response::new(Full::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
