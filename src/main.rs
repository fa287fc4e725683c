//! The `roster` binary: parse the command line, load the configuration, run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use roster::app::Application;
use roster::cli::{self, ClientsCommand, Context, ProvidersCommand};
use roster::clock::SystemClock;
use roster::config::Config;
use roster::telemetry;

/// Roster: user management and authentication.
///
/// Every command reads the same configuration as the server: environment variables,
/// or a `.env` file in the working directory (see the README).
#[derive(Debug, Parser)]
#[command(name = "roster", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations, then serve until SIGINT/SIGTERM (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create an administrator, or promote the existing account with this username or
    /// email. The password of a new account comes from ROSTER_ADMIN_PASSWORD or, when
    /// that is unset, from standard input.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
    /// Manage the token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Password hashing tools.
    Passwords {
        #[command(subcommand)]
        action: PasswordsCommand,
    },
    /// Manage accounts in bulk.
    Users {
        #[command(subcommand)]
        action: UsersCommand,
    },
    /// Manage ENCRYPTION_KEY, the key that seals signing keys, TOTP secrets, payment
    /// tokens and queued mail.
    EncryptionKey {
        #[command(subcommand)]
        action: EncryptionKeyCommand,
    },
    /// Manage the OpenID clients: the applications that sign their users in with Roster,
    /// and the services that get tokens of their own.
    Clients {
        #[command(subcommand)]
        action: ClientsCommand,
    },
    /// Manage the identity providers users may sign in with (Google, GitLab, Microsoft,
    /// any OpenID provider).
    Providers {
        #[command(subcommand)]
        action: ProvidersCommand,
    },
    /// List the live serving instances on this database (heartbeat within the last 20 s)
    /// with their issuer and signing key. Exit status 2 when they disagree.
    Instances,
}

#[derive(Debug, Subcommand)]
enum EncryptionKeyCommand {
    /// Re-seal every secret under a new key, in one transaction. The current key is
    /// ENCRYPTION_KEY (or, in development, the key file) and must match the database;
    /// the new key is read from --new-key-file. Nothing is written if any secret fails
    /// to open. Afterwards set ENCRYPTION_KEY to the new key and restart every instance.
    Rotate {
        /// A file holding the new key (base64 of 32 bytes, e.g. from `openssl rand
        /// -base64 32`); `-` reads it from standard input.
        #[arg(long, value_name = "PATH")]
        new_key_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new signing key of each kind in use (the one ACCESS_TOKEN_ALGORITHM names for
    /// access tokens, RSA and Ed25519 for ID tokens); running instances sign with them and
    /// publish them within
    /// KEY_REFRESH_SECONDS (default 5), and older keys stay published until the tokens
    /// they signed have expired. Refuses, writing nothing, when ENCRYPTION_KEY does not
    /// match the database or the current signing key cannot be opened.
    Rotate,
    /// List the signing keys: kid, algorithm, created, retired, and whether this
    /// configuration's ENCRYPTION_KEY opens it.
    List,
}

#[derive(Debug, Subcommand)]
enum PasswordsCommand {
    /// Time one Argon2id hash with the configured ARGON2_* parameters, as the server's
    /// hashing threads compute it, and print how many logins per second those threads
    /// sustain (one per core). Prints JSON with --json.
    Benchmark {
        /// How many hashes to time (the median is reported).
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u16).range(1..=1000))]
        samples: u16,
        #[arg(long)]
        json: bool,
        /// Also propose the ARGON2_MEMORY_KIB that makes one hash take about this many
        /// milliseconds here, with the configured iterations and parallelism.
        #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u16).range(1..=10000))]
        target_ms: Option<u16>,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Import accounts from JSON Lines, one {"username", "email", "full_name"?,
    /// "password_hash"?, "id"?, "email_verified"?, "role"?, "created_at"?} per line.
    /// Hashes: Argon2 and scrypt (PHC strings), bcrypt ($2a$, $2b$, $2y$), PBKDF2-SHA256
    /// as Django (pbkdf2_sha256$...) and passlib ($pbkdf2-sha256$...) write it; they are
    /// re-hashed to Argon2id at the next login. A UUID id is kept, other ids get a new
    /// one. Prints how many were imported and every rejected line with its reason. Exit
    /// status: 0 when every line was imported, 2 when some lines were rejected (with
    /// --atomic: nothing was imported), 1 on a fatal error.
    Import {
        /// The JSON Lines file.
        file: PathBuf,
        /// All or nothing: one transaction; any rejected line leaves nothing stored.
        #[arg(long)]
        atomic: bool,
        /// Write {"old_id", "id"} (JSON Lines) to this file for every imported line that
        /// had an id.
        #[arg(long, value_name = "FILE")]
        map: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("roster: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run_command());
    // Work still running on blocking threads (a password hash whose request was
    // abandoned when the drain time ran out) must not hold the exit for long.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run_command() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("roster: {e}");
            return ExitCode::from(1);
        }
    };
    telemetry::init(config.log_format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("roster: {e:#}");
            if e.downcast_ref::<cli::AdminConflict>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => {
            let context = Context::open(config).await?;
            let (applied, latest) = context.db.migration_status().await?;
            println!(
                "migrations applied: {applied} (latest {latest}) on {}",
                context.db.backend()
            );
            if let Some(report) = &context.email_fixes {
                println!(
                    "email addresses brought to canonical form: {}",
                    report.rewritten
                );
                if !report.duplicates.is_empty() {
                    println!(
                        "accounts sharing a mailbox under the canonical form, left unchanged (see table email_canonical_duplicates): {}",
                        report
                            .duplicates
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin { username, email } => {
            let context = Context::open(config).await?;
            cli::run_create_admin(&context, &username, &email).await
        }
        Command::Keys {
            action: KeysCommand::Rotate,
        } => {
            let context = Context::open(config).await?;
            let rotation = cli::rotate_keys(&context).await?;
            let retired = if rotation.retired.is_empty() {
                "no key was signing before".to_owned()
            } else {
                format!("retired {}", rotation.retired.join(", "))
            };
            println!(
                "new signing key {} ({} access tokens; RSA key {} and Ed25519 key {} for ID tokens); {retired}; running instances sign with them within {} s (retired keys stay published until the tokens they signed expire)",
                rotation.kid,
                rotation.algorithm.as_str(),
                rotation.rsa_kid,
                rotation.ed25519_kid,
                context.config.tokens.key_refresh_interval.as_secs()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            action: KeysCommand::List,
        } => {
            let context = Context::open(config).await?;
            let keys = cli::list_keys(&context).await?;
            println!("kid\talgorithm\tcreated\tretired\topens");
            for key in &keys {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    key.kid,
                    key.algorithm,
                    key.created_at.to_rfc3339(),
                    key.retired_at
                        .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339()),
                    if key.opens { "yes" } else { "no" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::EncryptionKey {
            action: EncryptionKeyCommand::Rotate { new_key_file },
        } => {
            let new_key = cli::read_new_key(&new_key_file)?;
            let context = Context::open(config).await?;
            let report = cli::rotate_encryption_key(&context, &new_key).await?;
            let counts = report
                .counts
                .iter()
                .map(|(kind, n)| format!("{n} {}", kind.name()))
                .collect::<Vec<_>>()
                .join(", ");
            println!("re-sealed under the new key: {counts}");
            let key_file = match &context.config.encryption_key {
                Some(_) => String::new(),
                None => format!(
                    " (or replace the contents of the development key file {} with it)",
                    context.config.key_file_path().display()
                ),
            };
            println!(
                "next: set ENCRYPTION_KEY to the new key{key_file} and restart every instance; until then running instances cannot open what they read, and instances started with the old key refuse to start"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Clients { action } => {
            let context = Context::open(config).await?;
            cli::run_clients(&context, action).await
        }
        Command::Providers { action } => {
            let context = Context::open(config).await?;
            cli::run_providers(&context, action).await
        }
        Command::Instances => {
            let context = Context::open(config).await?;
            let live = roster::system::instances::live(&context.db, context.clock.now()).await?;
            if live.is_empty() {
                println!("no live instances (none sent a heartbeat in the last 20 s)");
                return Ok(ExitCode::SUCCESS);
            }
            println!("id\taddress\tissuer\tsigning kid\tstarted\tlast seen");
            for instance in &live {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    instance.id,
                    instance.address,
                    instance.issuer,
                    instance.signing_kid,
                    instance.started_at.to_rfc3339(),
                    instance.last_seen.to_rfc3339()
                );
            }
            let disagreements = roster::system::instances::disagreements(&live);
            for sentence in &disagreements {
                println!("warning: {sentence}");
            }
            Ok(if disagreements.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Passwords {
            action:
                PasswordsCommand::Benchmark {
                    samples,
                    json,
                    target_ms,
                },
        } => {
            let cost = config.passwords.cost;
            let target = target_ms.map(|ms| std::time::Duration::from_millis(ms.into()));
            tokio::task::spawn_blocking(move || {
                cli::passwords_benchmark(cost, samples.into(), target, json)
            })
            .await??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Users {
            action: UsersCommand::Import { file, atomic, map },
        } => {
            let context = Context::open(config).await?;
            cli::run_import(&context, &file, &cli::ImportOptions { atomic, map }).await
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let address = std::net::SocketAddr::new(config.http.host, config.http.port);
    let application = Application::build(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
    release_freed_memory();
    release_start_up_code();
    let state = application.state();
    // On a fresh database the first RSA key is made just after start-up (see
    // `keys::create_rsa_key`): hand back what making it touched, too.
    let rsa = roster::tokens::keys::IdTokenAlgorithm::Rs256;
    if !state.tokens.key_set().signs_id_tokens(rsa) {
        let state = state.clone();
        tokio::spawn(async move {
            let made = state
                .tokens
                .key_set_for_id_tokens(rsa, std::time::Duration::from_secs(60))
                .await;
            if made.is_some() {
                let _ = tokio::task::spawn_blocking(|| {
                    release_freed_memory();
                    release_start_up_code();
                })
                .await;
            }
        });
    }
    if let (Some(router), Some(address)) = (
        application.operator_router(),
        state.config.http.metrics_address,
    ) {
        let operators = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on METRICS_ADDRESS {address}: {e}"))?;
        tracing::info!(metrics_address = %operators.local_addr()?, "/metrics and /db/status served apart");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(operators, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    tracing::info!(
        address = %listener.local_addr()?,
        backend = state.db.backend(),
        environment = ?state.config.environment,
        "roster {} serving; console at /account and /admin, API docs at /docs",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(link) = roster::admin::setup::offer_link(state).await? {
        // On standard error beside the log, not in it: the link is a secret for the
        // operator's eyes (single use, one hour).
        eprintln!(
            "\nNo administrator yet. Create the first one within the hour at\n\n    {link}\n\n(or run `roster create-admin --username NAME --email EMAIL`).\n"
        );
        tracing::warn!(
            "no administrator yet: the one-time setup link is printed above (valid 1 hour)"
        );
    } else {
        tracing::info!("administrators sign in at /admin");
    }
    application.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Hands the heap memory freed after start-up back to the system. Building the OpenAPI
/// document and the schema validators peaks at about 9 MB of heap, of which about 2.5 MB
/// stay in use; glibc keeps the freed pages mapped unless asked, which would make them
/// a third of the idle footprint.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only walks glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Lets the kernel take back the pages of the executable's code that start-up ran.
///
/// Start-up runs several thousand functions that serving never calls again (building
/// the OpenAPI document, argument parsing, migrations, the schema compiler, ...),
/// spread over the whole of `.text`; the kernel maps 64 KiB or more around every page a
/// process touches, so they would stay resident as a third of the idle footprint. The
/// code is a read-only, private mapping of the executable file: dropping its pages
/// (`MADV_DONTNEED`) cannot change what runs, and each page that serving needs later is
/// mapped again from the page cache on first use (a minor fault, no disk read while the
/// file is cached).
fn release_start_up_code() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let Ok(executable) = std::fs::read_link("/proc/self/exe") else {
            return;
        };
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
            return;
        };
        for line in maps.lines() {
            // start-end perms offset device inode path
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [range, "r-xp", _, _, _, path] = fields.as_slice() else {
                continue;
            };
            if std::path::Path::new(path) != executable {
                continue;
            }
            let Some((start, end)) = range.split_once('-') else {
                continue;
            };
            let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) else {
                continue;
            };
            // SAFETY: the range is one whole mapping of this process's executable code,
            // read-only and private: dropping its pages only makes the next use of each
            // one fault it in again from the file, with the same contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: finishing in-flight requests"),
        () = terminate => tracing::info!("SIGTERM: finishing in-flight requests"),
    }
}
