//! Connecting: the small tokio runtime each blocking call runs on, unix sockets, plain
//! TCP and TLS (verified, or unverified as `DOCKER_TLS` asks). A registry client can
//! share the TLS code.

use super::*;

// ---------------------------------------------------------------------------------
// Connecting.

/// A current-thread runtime with timers and I/O.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::other(format!("cannot start the Docker client runtime: {e}")))
}

/// Runs `fut` to completion on a fresh current-thread runtime. Inside an existing
/// runtime (where blocking on another one would panic) it runs on a helper thread.
pub(super) fn block_on<T: Send>(fut: impl Future<Output = Result<T>> + Send) -> Result<T> {
    let run = move || runtime()?.block_on(fut);
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    thread::scope(|s| {
        s.spawn(run)
            .join()
            .unwrap_or_else(|_| Err(Error::other("the Docker client thread panicked")))
    })
}

/// Connects to `host` and negotiates the API version, within [`CONNECT_TIMEOUT`]. The
/// returned client uses [`REQUEST_TIMEOUT`].
pub(super) async fn connect(host: &ResolvedHost) -> Result<Docker> {
    let timeout = CONNECT_TIMEOUT.as_secs();
    let docker = match &host.endpoint {
        Endpoint::Unix(path) => Docker::connect_with_unix(path, timeout, API_DEFAULT_VERSION)
            .map_err(|e| map_error(e, host, Op::Connect))?,
        Endpoint::Tcp { addr, tls: None } => {
            Docker::connect_with_http(&format!("tcp://{addr}"), timeout, API_DEFAULT_VERSION)
                .map_err(|e| map_error(e, host, Op::Connect))?
        }
        Endpoint::Tcp {
            addr,
            tls: Some(tls),
        } => connect_tls(addr, tls, timeout).map_err(|e| {
            Error::usage(format!(
                "TLS setup for the Docker daemon at {host} failed: {e} (certificates from {})",
                tls.dir.display()
            ))
        })?,
    };
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| map_error(e, host, Op::Connect))?;
    Ok(docker.with_timeout(REQUEST_TIMEOUT))
}

/// An HTTPS client for `addr`. bollard's own TLS connector always verifies the daemon
/// certificate and needs a CA file; contexts with `SkipTLSVerify` (and `DOCKER_TLS`
/// without `DOCKER_TLS_VERIFY`) need a custom one, so all TLS goes through this one.
pub(super) fn connect_tls(
    addr: &str,
    tls: &Tls,
    timeout: u64,
) -> std::result::Result<Docker, String> {
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if tls.verify {
        let ca = tls
            .ca
            .as_ref()
            .ok_or("TLS verification is on but there is no ca.pem")?;
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!("no usable certificate in {}", ca.display()));
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
    };
    let config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("cannot read {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("unusable client certificate: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(timeout)));
    let https = hyper_rustls::HttpsConnector::from((http, config));
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(https);
    let transport = move |request: BollardRequest| {
        let client = client.clone();
        async move {
            client
                .request(request)
                .await
                .map_err(bollard::errors::Error::from)
        }
    };
    Docker::connect_with_custom_transport(
        transport,
        Some(format!("https://{addr}")),
        timeout,
        API_DEFAULT_VERSION,
    )
    .map_err(|e| e.to_string())
}

/// Certificate "verifier" for `SkipTLSVerify`: accepts any daemon certificate, but
/// still checks the handshake signatures.
#[derive(Debug)]
pub(super) struct AcceptAnyServerCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
