//! The providers against real files and a local metadata service (a tiny HTTP server on
//! 127.0.0.1 speaking the documented JSON): refresh before expiry in the background, single-flight
//! under concurrency, stale credentials served while a refresh fails, typed errors naming the
//! provider and the source.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apig::Clock;
use apig_credentials::{
    ChainProvider, CredentialsErrorKind, EnvironmentProvider, MetadataProvider, MetadataSettings, ProfileProvider,
    ProvideCredentials,
};

/// 2024-04-03T10:15:00Z
const T0: i64 = 1_712_139_300;

#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst).unsigned_abs())
    }
}

/// What the metadata service answers.
struct Service {
    /// The issued key pair's number (`TMPAK<n>`), its expiry in Unix seconds.
    generation: usize,
    expires_at: i64,
    /// Status of the securitykey answer (200: the credentials).
    key_status: u16,
    /// Body of the securitykey answer when not the credentials.
    key_body: String,
    /// Status of the session-token answer (200 issues `session-1`).
    token_status: u16,
    /// Answer the securitykey request only after this long.
    delay: Duration,
}

struct Server {
    addr: SocketAddr,
    service: Arc<Mutex<Service>>,
    gets: Arc<AtomicUsize>,
}

fn rfc3339(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.574000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn metadata_server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let service = Arc::new(Mutex::new(Service {
        generation: 1,
        expires_at: T0 + 3600,
        key_status: 200,
        key_body: String::new(),
        token_status: 200,
        delay: Duration::ZERO,
    }));
    let gets = Arc::new(AtomicUsize::new(0));
    let (s, g) = (Arc::clone(&service), Arc::clone(&gets));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (s, g) = (Arc::clone(&s), Arc::clone(&g));
            std::thread::spawn(move || {
                let _ = handle(stream, &s, &g);
            });
        }
    });
    Server { addr, service, gets }
}

fn handle(stream: TcpStream, service: &Mutex<Service>, gets: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        headers.push(h.trim().to_owned());
    }
    let (status, body) = if line.starts_with("PUT /meta-data/latest/api/token") {
        let status = service.lock().unwrap().token_status;
        assert!(headers.iter().any(|h| h.eq_ignore_ascii_case("x-metadata-token-ttl-seconds: 21600")));
        (status, if status == 200 { "session-1".to_owned() } else { String::new() })
    } else if line.starts_with("GET /openstack/latest/securitykey") {
        gets.fetch_add(1, Ordering::SeqCst);
        let delay = service.lock().unwrap().delay;
        std::thread::sleep(delay);
        let s = service.lock().unwrap();
        if s.token_status == 200 && !headers.iter().any(|h| h.eq_ignore_ascii_case("x-metadata-token: session-1")) {
            (401, "session token required".to_owned())
        } else if s.key_status == 200 {
            let n = s.generation;
            let body = format!(
                r#"{{"credential":{{"access":"TMPAK{n}","secret":"TMPSK{n}","securitytoken":"token-{n}","expires_at":"{}"}}}}"#,
                rfc3339(s.expires_at)
            );
            (200, body)
        } else {
            (s.key_status, s.key_body.clone())
        }
    } else {
        (404, String::new())
    };
    let mut stream = stream;
    write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    stream.flush()
}

fn provider(server: &Server, clock: &TestClock) -> MetadataProvider {
    let settings = MetadataSettings {
        endpoint: format!("http://{}", server.addr),
        timeout: Duration::from_millis(500),
        min_refresh_interval: Duration::ZERO,
        ..MetadataSettings::default()
    };
    MetadataProvider::with_clock(settings, clock.clone())
}

/// Calls until `access_key` is served (background refreshes), at most 5 s.
fn eventually(p: &MetadataProvider, access_key: &str) {
    let start = Instant::now();
    while p.credentials().unwrap().access_key != access_key {
        assert!(start.elapsed() < Duration::from_secs(5), "never got {access_key}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn metadata_fetches_once_then_refreshes_in_the_background_before_expiry() {
    let server = metadata_server();
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    let p = provider(&server, &clock);
    let first = p.credentials().unwrap();
    assert_eq!(first.access_key, "TMPAK1");
    assert_eq!(first.security_token.as_ref().unwrap().expose(), "token-1");
    assert!(!format!("{first:?}").contains("token-1") && !format!("{first:?}").contains("TMPSK1"));
    // fresh: served from the cache, no request
    clock.0.store(T0 + 600, Ordering::SeqCst);
    for _ in 0..50 {
        assert_eq!(p.credentials().unwrap().access_key, "TMPAK1");
    }
    assert_eq!(server.gets.load(Ordering::SeqCst), 1);

    // under 40 minutes left: the cached ones are answered at once while one refresh runs
    {
        let mut s = server.service.lock().unwrap();
        s.generation = 2;
        s.expires_at = T0 + 7200;
        s.delay = Duration::from_millis(300);
    }
    clock.0.store(T0 + 3600 - 2399, Ordering::SeqCst);
    let start = Instant::now();
    for _ in 0..20 {
        assert_eq!(p.credentials().unwrap().access_key, "TMPAK1");
    }
    assert!(start.elapsed() < Duration::from_millis(250), "a request waited on the refresh");
    eventually(&p, "TMPAK2");
    assert_eq!(server.gets.load(Ordering::SeqCst), 2, "one refresh, whatever the callers");
}

#[test]
fn metadata_is_single_flight_under_concurrency() {
    let server = metadata_server();
    server.service.lock().unwrap().delay = Duration::from_millis(100);
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    let p = provider(&server, &clock);
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || p.credentials().unwrap().access_key)
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "TMPAK1");
    }
    assert_eq!(server.gets.load(Ordering::SeqCst), 1);
}

#[test]
fn a_failed_refresh_serves_the_cached_credentials_until_they_expire_then_fails_clearly() {
    let server = metadata_server();
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    let p = provider(&server, &clock);
    assert_eq!(p.credentials().unwrap().access_key, "TMPAK1");
    {
        let mut s = server.service.lock().unwrap();
        s.key_status = 500;
        s.key_body = "down".to_owned();
    }
    clock.0.store(T0 + 3600 - 60, Ordering::SeqCst);
    let start = Instant::now();
    while server.gets.load(Ordering::SeqCst) < 2 {
        assert_eq!(p.credentials().unwrap().access_key, "TMPAK1");
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(p.credentials().unwrap().access_key, "TMPAK1", "still valid: still served");
    clock.0.store(T0 + 3601, Ordering::SeqCst); // (the service's expiry has a fraction: .574)
    let err = p.credentials().unwrap_err();
    assert_eq!((err.code(), err.provider()), ("expired", "metadata"));
    assert!(err.source_name().ends_with("/openstack/latest/securitykey"), "{err}");
    assert!(err.message().contains("HTTP 500"), "{err}");
}

#[test]
fn metadata_errors_are_typed_and_name_the_source() {
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    // nothing listening
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let settings = MetadataSettings {
        endpoint: format!("http://{closed}"),
        timeout: Duration::from_millis(300),
        ..MetadataSettings::default()
    };
    let err = MetadataProvider::with_clock(settings, clock.clone()).credentials().unwrap_err();
    assert_eq!((err.code(), err.provider()), ("unreachable", "metadata"), "{err}");
    assert!(err.source_name().contains(&closed.to_string()), "{err}");

    // too slow
    let server = metadata_server();
    server.service.lock().unwrap().delay = Duration::from_secs(2);
    let start = Instant::now();
    let err = provider(&server, &clock).credentials().unwrap_err();
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(start.elapsed() < Duration::from_millis(1500));

    // no agency; JSON without the fields
    let server = metadata_server();
    {
        let mut s = server.service.lock().unwrap();
        s.key_status = 401;
        s.key_body = "Please configure Cloud Service Agency first".to_owned();
    }
    let err = provider(&server, &clock).credentials().unwrap_err();
    assert_eq!(err.code(), "http_status");
    assert!(err.message().contains("agency"), "{err}");
    {
        let mut s = server.service.lock().unwrap();
        s.key_status = 299;
        s.key_body = r#"{"credential":{"access":"A"}}"#.to_owned();
    }
    assert_eq!(provider(&server, &clock).credentials().unwrap_err().kind(), CredentialsErrorKind::MissingField);
}

#[test]
fn a_service_without_session_tokens_is_asked_without_one() {
    let server = metadata_server();
    server.service.lock().unwrap().token_status = 404;
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    assert_eq!(provider(&server, &clock).credentials().unwrap().access_key, "TMPAK1");
}

#[test]
fn environment_missing_variables_are_named() {
    let env = EnvironmentProvider::with_lookup(|name| (name == "HUAWEICLOUD_SDK_AK").then(|| "AK".to_owned()));
    let err = env.credentials().unwrap_err();
    assert_eq!((err.code(), err.provider(), err.source_name()), ("missing", "environment", "HUAWEICLOUD_SDK_SK"));
    let empty = EnvironmentProvider::with_lookup(|_| Some(String::new()));
    assert_eq!(empty.credentials().unwrap_err().source_name(), "HUAWEICLOUD_SDK_AK");
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("apig-credentials-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn profile_sections_keys_and_errors() {
    let path = temp_file(
        "credentials",
        "# comment\n[basic]\nak = AK1\nSK = SK1\nsecurity_token = tok\nproject_id = p1\n[global]\nak = AK2\nsk = SK2\ndomain_id = d1\n",
    );
    let basic = ProfileProvider::from_file(&path, "basic").credentials().unwrap();
    assert_eq!((basic.access_key.as_str(), basic.project_id.as_deref()), ("AK1", Some("p1")));
    assert_eq!(basic.security_token.unwrap().expose(), "tok");
    let global = ProfileProvider::from_file(&path, "global").credentials().unwrap();
    assert_eq!((global.access_key.as_str(), global.domain_id.as_deref()), ("AK2", Some("d1")));

    let err = ProfileProvider::from_file(&path, "other").credentials().unwrap_err();
    assert_eq!((err.code(), err.provider()), ("missing", "profile"));
    assert!(err.source_name().contains("credentials [other]"), "{err}");
    let err = ProfileProvider::from_file(path.with_file_name("absent"), "basic").credentials().unwrap_err();
    assert_eq!(err.code(), "missing");
    let broken = temp_file("broken", "[basic\nak = x\n");
    let err = ProfileProvider::from_file(&broken, "basic").credentials().unwrap_err();
    assert_eq!(err.code(), "malformed", "{err}");
    let no_sk = temp_file("no-sk", "[basic]\nak = AK\nsk = \n");
    let err = ProfileProvider::from_file(&no_sk, "basic").credentials().unwrap_err();
    assert!(err.code() == "missing" && err.message().contains("`sk`"), "{err}");
}

#[test]
fn the_chain_says_who_answered_and_lists_every_failure() {
    let path = temp_file("chain", "[basic]\nak = FROMFILE\nsk = s\n");
    let chain = ChainProvider::new(vec![
        Box::new(EnvironmentProvider::with_lookup(|_| None)),
        Box::new(ProfileProvider::from_file(&path, "basic")),
    ]);
    let answered = chain.resolve().unwrap();
    assert_eq!((answered.provider, answered.credentials.access_key.as_str()), ("profile", "FROMFILE"));

    let chain = ChainProvider::new(vec![
        Box::new(EnvironmentProvider::with_lookup(|_| None)),
        Box::new(ProfileProvider::from_file(path.with_file_name("absent"), "basic")),
    ]);
    let err = chain.resolve().unwrap_err();
    assert_eq!((err.code(), err.provider(), err.source_name()), ("no_provider", "chain", "environment, profile"));
    assert!(err.message().contains("HUAWEICLOUD_SDK_AK") && err.message().contains("absent"), "{err}");
}
