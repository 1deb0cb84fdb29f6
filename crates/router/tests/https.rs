//! `https://` targets against a local TLS server whose self-signed
//! certificate is made here (SPEC.md §6: delivery like an API destination).
#![cfg(feature = "https")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::read_request;
use evmatch_router::delivery::{DeadLetterFile, DeadLetterSink, RouterBuilder, RouterConfig};
use evmatch_router::http::TlsConfig;
use evmatch_router::sinks::{builtin, builtin_with_tls, SinkOptions};
use evmatch_router::target::{Endpoint, Target};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn tmp(name: &str) -> PathBuf {
    common::tmp("evmatch-https", name)
}

/// A keep-alive HTTPS server on 127.0.0.1 answering 200; returns its
/// URL, the PEM file of its certificate, and counts of connections and
/// requests (bodies).
struct TlsServer {
    url: String,
    cert_file: PathBuf,
    connections: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn tls_server(dir: &std::path::Path) -> TlsServer {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_pem = ck.cert.pem();
    let cert_file = dir.join("server.pem");
    std::fs::write(&cert_file, &cert_pem).unwrap();
    let certs = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(ck.key_pair.serialize_pem().as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/tls", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (c2, b2) = (Arc::clone(&connections), Arc::clone(&bodies));
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            c2.fetch_add(1, Ordering::SeqCst);
            let (config, bodies) = (Arc::clone(&config), Arc::clone(&b2));
            std::thread::spawn(move || {
                tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut s = rustls::StreamOwned::new(conn, tcp);
                let mut buf: Vec<u8> = Vec::new();
                loop {
                    let Some((_, body)) = read_request(&mut s, &mut buf) else {
                        return;
                    };
                    bodies.lock().unwrap().push(body);
                    let ok = s
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .and_then(|()| s.flush());
                    if ok.is_err() {
                        return;
                    }
                }
            });
        }
    });
    TlsServer {
        url,
        cert_file,
        connections,
        bodies,
    }
}

fn target(url: &str) -> Target {
    Target::from_json(&json!({"Id": "secure", "Arn": url, "InputPath": "$.detail",
        "RetryPolicy": {"MaximumRetryAttempts": 0}}))
    .unwrap()
}

#[test]
fn spec_6_https_target_with_a_trusted_local_ca_delivers_on_one_connection() {
    let dir = tmp("trusted");
    let server = tls_server(&dir);
    let tls = TlsConfig::new(std::slice::from_ref(&server.cert_file)).unwrap();
    let t = target(&server.url);
    let deliver = builtin_with_tls(
        &Endpoint::parse(&t.arn).unwrap(),
        &[],
        &SinkOptions::default(),
        Some(&tls),
    )
    .unwrap();
    let config = RouterConfig {
        concurrency: 1,
        ..RouterConfig::default()
    };
    let mut b = RouterBuilder::new(config);
    let r = b.add_rule("r");
    let dlq: Arc<dyn DeadLetterSink> = Arc::new(DeadLetterFile::new(dir.join("dlq.ndjson")));
    b.add_target(r, t, &server.url, deliver, Some(dlq));
    let router = b.start();
    for i in 0..5 {
        router
            .route(&format!(r#"{{"id":"e{i}","detail":{{"n":{i}}}}}"#), &[0])
            .unwrap();
    }
    let s = router.finish();
    assert_eq!((s.targets[0].delivered, s.targets[0].dead_lettered), (5, 0));
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "kept open");
    let bodies = server.bodies.lock().unwrap().clone();
    assert_eq!(bodies[0], r#"{"n":0}"#);
    assert_eq!(bodies.len(), 5);
}

#[test]
fn spec_6_https_target_with_an_unknown_certificate_is_dead_lettered_at_once() {
    let dir = tmp("untrusted");
    let server = tls_server(&dir);
    // Mozilla's roots only: the self-signed certificate is refused.
    let t = target(&server.url);
    let deliver = builtin(
        &Endpoint::parse(&t.arn).unwrap(),
        &[],
        &SinkOptions::default(),
    )
    .unwrap();
    let mut b = RouterBuilder::new(RouterConfig::default());
    let r = b.add_rule("r");
    let dlq_path = dir.join("dlq.ndjson");
    let dlq: Arc<dyn DeadLetterSink> = Arc::new(DeadLetterFile::new(&dlq_path));
    b.add_target(r, t, &server.url, deliver, Some(dlq));
    let router = b.start();
    router.route(r#"{"id":"e1","detail":{}}"#, &[0]).unwrap();
    let s = router.finish();
    assert_eq!((s.targets[0].delivered, s.targets[0].dead_lettered), (0, 1));
    assert!(server.bodies.lock().unwrap().is_empty());
    let rec: Value =
        serde_json::from_str(std::fs::read_to_string(&dlq_path).unwrap().trim()).unwrap();
    let msg = rec["ERROR_MESSAGE"].as_str().unwrap();
    assert!(msg.starts_with("TLS handshake with 127.0.0.1:"), "{msg}");
    assert!(msg.contains("certificate"), "{msg}");
    // Not retried: the server will keep presenting it.
    assert_eq!(rec["EXHAUSTED_RETRY_CONDITION"], Value::Null);
}

#[test]
fn ca_files_that_hold_no_certificate_are_refused_by_name() {
    let dir = tmp("bad-ca");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let e = TlsConfig::new(&[empty]).unwrap_err();
    assert!(
        e.contains("empty.pem") && e.contains("no PEM certificate"),
        "{e}"
    );
    let e = TlsConfig::new(&[dir.join("missing.pem")]).unwrap_err();
    assert!(e.contains("missing.pem"), "{e}");
}
