//! The command line's words: subcommands, their arguments and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "reelvault", version, about = "A self-hosted studio for AI video and image generation")]
pub(super) struct Cli {
    #[command(flatten)]
    pub(super) global: GlobalArgs,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Args)]
pub(super) struct GlobalArgs {
    /// Config file (default: /etc/reelvault/config.toml when it exists)
    #[arg(long, global = true, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Data directory (overrides the config file and REELVAULT_DATA_DIR)
    #[arg(long, global = true, value_name = "DIR")]
    pub(super) data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Run the appliance
    Serve {
        /// Address and port to listen on (overrides config and REELVAULT_LISTEN)
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
    /// Create the data directory, master key and store, print the setup link, and exit
    Init,
    /// Validate the configuration and print the effective settings (secrets redacted); with a
    /// store, verify the credit ledger and that every asset record has its media object (exit
    /// status 1 when one is missing), and list orphan objects
    Check,
    /// Manage people
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage credits
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// Retention: what the next sweep would remove, or run one now
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Write a consistent backup (store and media, not the master key) into a new or empty
    /// directory; works while the service runs. Media are copied from their backend (local
    /// disk or S3)
    Backup {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Media on S3: leave them in their bucket and only name it in the manifest
        #[arg(long)]
        media_in_place: bool,
    },
    /// Restore a backup into an empty data directory (--data-dir or the config's data_dir)
    Restore {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Where the restored media go: local (the default for copied media) or s3 (the
        /// [media] S3 settings of the config; the default for media left in place)
        #[arg(long, value_name = "s3|local")]
        media_to: Option<String>,
    },
    /// Rebuild the search index from the store, printing progress; works while the service runs
    Reindex,
    /// The model catalog: check a catalog file, install one, or print the catalog in force
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Media storage: move the media to another backend
    #[command(subcommand)]
    Media(MediaCommand),
}

#[derive(Subcommand)]
pub(super) enum MediaCommand {
    /// Move every media object to another backend, verified by hash and resumable, then switch
    /// to it (through the running service when there is one); old copies are removed after
    /// the switch. Migrating to s3 needs the [media] S3 settings in the config file
    Migrate {
        #[arg(long, value_name = "s3|local")]
        to: String,
        /// Stop after copying this many objects, as an interruption would (for rehearsals)
        #[arg(long, value_name = "N", hide = true)]
        stop_after: Option<u64>,
    },
}

#[derive(Subcommand)]
pub(super) enum CatalogCommand {
    /// Check a catalog file (TOML `[[model]]` entries) over the shipped catalog; errors name the
    /// line, model and field
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Install a catalog file: its models replace imported ones with the same id and override
    /// the shipped catalog (through the running service when there is one). An invalid file
    /// changes nothing
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the catalog in force as one catalog file
    Export,
}

#[derive(Subcommand)]
pub(super) enum RetentionCommand {
    /// Print what the next sweep would remove: counts per class and the items
    Plan {
        /// Evaluate as of this time (RFC 3339), to rehearse a future sweep
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Run a sweep now (through the running service when there is one)
    Run {
        /// Sweep as of this time (RFC 3339); for tests and rehearsals on a copy
        #[arg(long, value_name = "TIME", hide = true)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum CreditsCommand {
    /// Add credits to an account (a negative amount removes them)
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: i64,
    },
    /// Show the allowances, spend limits and approval rules (JSON)
    Spending,
    /// Grant this month's allowances now to whoever has not had theirs (never twice a month)
    Renew {
        /// Renew as of this time (RFC 3339); for tests and rehearsals on a copy
        #[arg(long, value_name = "TIME", hide = true)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Create an account; the password is read from standard input
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "member", value_name = "admin|member")]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from standard input (required: passwords never go on the command line)
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List accounts
    List,
    /// Disable an account and end its sessions
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Change an account's role
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long, value_name = "admin|member")]
        role: String,
    },
    /// Print a one-time password-reset link for an account
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Create a personal API token and print it once
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Lifetime such as "30d"; omit for a token that does not expire
        #[arg(long)]
        expires: Option<String>,
        /// This token's requests per minute (default: `api.requests_per_minute`)
        #[arg(long)]
        requests_per_minute: Option<u32>,
        /// This token's unfinished generations at once (default: `api.concurrent_jobs`)
        #[arg(long)]
        concurrent_jobs: Option<u32>,
    },
}
