//! `sslmode` and `sslrootcert` against a real TLS server.
//!
//! The test starts a throwaway PostgreSQL cluster of its own (never the shared server on
//! 5432): a CA and a server certificate for `localhost` and `127.0.0.1` made with
//! `openssl`, `initdb` in a temporary directory, `ssl = on`, a free port. A guard stops
//! the cluster and deletes the directory when the test ends, also when it fails. The
//! binaries come from `SCHEMA_SYNC_TEST_PG_BIN` (default `/usr/lib/postgresql/15/bin`);
//! run as root (as in CI), the cluster runs as the `postgres` OS user. A missing binary
//! fails the test, it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use schema_sync_core::{ConnectOptions, DatabaseAdapter, Error};
use schema_sync_postgres::{connect, connect_client};
use tempfile::TempDir;

/// Where `initdb` and `pg_ctl` live.
fn pg_bin() -> PathBuf {
    std::env::var("SCHEMA_SYNC_TEST_PG_BIN")
        .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_string())
        .into()
}

/// Runs `program` with `args` in `dir` (as the `postgres` OS user when `as_postgres`).
///
/// # Errors
/// The program's output when it cannot start or fails.
fn try_run(program: &str, args: &[&str], dir: &Path, as_postgres: bool) -> Result<(), String> {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    };
    let output = command
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// As [`try_run`], panicking when the program fails.
fn run(program: &str, args: &[&str], dir: &Path, as_postgres: bool) {
    try_run(program, args, dir, as_postgres).unwrap_or_else(|e| panic!("{e}"));
}

/// A PostgreSQL cluster with TLS in a temporary directory, stopped and deleted on drop.
struct TlsCluster {
    dir: TempDir,
    port: u16,
    as_postgres: bool,
    started: bool,
}

impl TlsCluster {
    fn start() -> TlsCluster {
        let uid = Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        // The postgres user must reach the directory: /tmp, not a private TMPDIR.
        let parent = if as_postgres {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("schema-sync-tls-")
            .tempdir_in(parent)
            .unwrap();
        // A port nothing listens on now (the OS hands out ephemeral ports, never 5432).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut cluster = TlsCluster {
            dir,
            port,
            as_postgres,
            started: false,
        };
        let path = cluster.dir.path().to_path_buf();
        cluster.certificates(&path);
        if as_postgres {
            run("chown", &["-R", "postgres:", "."], &path, false);
        }
        let initdb = pg_bin().join("initdb");
        run(
            &initdb.to_string_lossy(),
            &[
                "-D",
                "data",
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            &path,
            as_postgres,
        );
        let data = path.join("data");
        let shown = path.display();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str(&format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{shown}'\n\
             ssl = on\nssl_cert_file = '{shown}/server.crt'\nssl_key_file = '{shown}/server.key'\n\
             fsync = off\nmax_connections = 20\nshared_buffers = '16MB'\n"
        ));
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all postgres trust\n\
             hostssl all postgres 127.0.0.1/32 trust\n\
             host all postgres 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let pg_ctl = pg_bin().join("pg_ctl");
        let log = path.join("server.log");
        // From here on the guard stops the server, whatever happens.
        cluster.started = true;
        let log = log.to_string_lossy().into_owned();
        let args = ["-D", "data", "-l", &log, "-w", "-t", "30", "start"];
        if let Err(e) = try_run(&pg_ctl.to_string_lossy(), &args, &path, as_postgres) {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("the TLS test cluster did not start: {e}\nits log:\n{log}");
        }
        cluster
    }

    /// A CA, and a server certificate it signs for `localhost` and `127.0.0.1`.
    fn certificates(&self, dir: &Path) {
        std::fs::write(
            dir.join("ca.cnf"),
            "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n\
             [dn]\nCN = schema-sync test CA\n\
             [v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
             subjectKeyIdentifier = hash\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n\
             extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n",
        )
        .unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let openssl = "/usr/bin/openssl";
        let mut ca = vec!["req", "-x509", "-nodes", "-config", "ca.cnf", "-days", "2"];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
        run(openssl, &ca, dir, false);
        let mut csr = vec!["req", "-new", "-nodes", "-config", "ca.cnf"];
        csr.extend(ec);
        csr.extend([
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        run(openssl, &csr, dir, false);
        run(
            openssl,
            &[
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
                "server.crt",
            ],
            dir,
            false,
        );
        // PostgreSQL refuses a key others can read.
        run("chmod", &["600", "server.key"], dir, false);
    }

    /// A URL for `host` with the query `params`.
    fn url(&self, host: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{params}", self.port)
    }

    /// The CA certificate, for `sslrootcert`.
    fn ca(&self) -> String {
        self.dir
            .path()
            .join("ca.pem")
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        if self.started {
            let pg_ctl = pg_bin().join("pg_ctl");
            let mut command = if self.as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
                c
            } else {
                Command::new(&pg_ctl)
            };
            let _ = command
                .args(["-D", "data", "-m", "immediate", "-w", "stop"])
                .current_dir(self.dir.path())
                .output();
        }
        // The TempDir field deletes the directory after this.
    }
}

/// Whether the connection `client` runs over TLS, as the server sees it.
async fn encrypted(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// The error of connecting the adapter to `url`, as text.
async fn refused(url: &str) -> String {
    match connect(url, &ConnectOptions::default()).await {
        Ok(_) => panic!("{url} must be refused"),
        Err(e @ Error::Connection { .. }) => format!("{e}"),
        Err(e) => panic!("{url}: expected a connection error, got {e:?}"),
    }
}

#[tokio::test]
async fn sslmode_and_sslrootcert_against_a_tls_server() {
    let cluster = TlsCluster::start();
    let ca = cluster.ca();

    // require: encrypted, the certificate (signed by an unknown CA) not checked.
    let require = cluster.url("127.0.0.1", "sslmode=require");
    let adapter = connect(&require, &ConnectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("sslmode=require: {e}"));
    adapter.list_tenants().await.unwrap();
    let client = connect_client(&require, "tls-check").await.unwrap();
    assert!(encrypted(&client).await);
    // The adapter's own pooled connection is encrypted too.
    let row = client
        .query_one(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s
             JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'schema-sync'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, i64>(0) >= 1);
    assert_eq!(row.get::<_, Option<bool>>(1), Some(true));
    drop(adapter);

    // disable: plain TCP on the same server.
    let plain = connect_client(&cluster.url("127.0.0.1", "sslmode=disable"), "tls-check")
        .await
        .unwrap();
    assert!(!encrypted(&plain).await);

    // verify-full with the CA: the chain and the name (IP address or DNS name) match.
    for host in ["127.0.0.1", "localhost"] {
        let url = cluster.url(host, &format!("sslmode=verify-full&sslrootcert={ca}"));
        let adapter = connect(&url, &ConnectOptions::default())
            .await
            .unwrap_or_else(|e| panic!("verify-full to {host}: {e}"));
        adapter.list_tenants().await.unwrap();
        let client = connect_client(&url, "tls-check").await.unwrap();
        assert!(encrypted(&client).await);
    }

    // Without the CA, neither verify mode trusts the certificate (the Mozilla roots do not
    // hold the test CA), and the message says what to do.
    for mode in ["verify-full", "verify-ca"] {
        let message = refused(&cluster.url("127.0.0.1", &format!("sslmode={mode}"))).await;
        assert!(
            message.contains("invalid peer certificate") && message.contains("sslrootcert=PATH"),
            "{mode}: {message}"
        );
    }

    // A host name the certificate does not carry (the TCP connection still goes to
    // 127.0.0.1 through hostaddr): verify-full refuses it, verify-ca checks the chain only.
    let elsewhere = |mode: &str| {
        cluster.url(
            "not-in-the-certificate.invalid",
            &format!("hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={ca}"),
        )
    };
    let message = refused(&elsewhere("verify-full")).await;
    assert!(
        message.contains("not valid for name") && message.contains("verify-ca"),
        "{message}"
    );
    let adapter = connect(&elsewhere("verify-ca"), &ConnectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("verify-ca to another name: {e}"));
    adapter.list_tenants().await.unwrap();

    // An sslrootcert that is not there is a configuration error naming it.
    let missing = cluster.url(
        "127.0.0.1",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    );
    let err = connect(&missing, &ConnectOptions::default())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::Config { message } if message.contains("/nonexistent/ca.pem")),
        "{err:?}"
    );
}
