//! `skiff pull`: fetch an image from a registry into local storage.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::pull::{PullObserver, PullOptions, Silent};
use crate::engine::remote::TlsVerify;
use crate::image::auth::Credentials;
use crate::image::digest::Digest;
use crate::image::platform::Platform;
use crate::image::reference::Reference;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image to pull: NAME[:TAG|@DIGEST]
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<String>,
    /// Print nothing but the image id
    #[arg(short, long)]
    pub quiet: bool,
    /// Pull the image for this platform (OS/ARCH[/VARIANT])
    #[arg(long)]
    pub platform: Option<String>,
    /// Override the architecture of the image to pull
    #[arg(long)]
    pub arch: Option<String>,
    /// Override the OS of the image to pull
    #[arg(long)]
    pub os: Option<String>,
    /// Override the architecture variant of the image to pull
    #[arg(long)]
    pub variant: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How `pull` and `push` reach the registry.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates (default: as registries.conf says)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Credentials (USERNAME:PASSWORD) for the registry
    #[arg(long)]
    pub creds: Option<String>,
    /// Path of the authentication file
    #[arg(long)]
    pub authfile: Option<std::path::PathBuf>,
}

impl RegistryArgs {
    /// Point credential lookups at `--authfile`; `--tls-verify` and
    /// `--creds` as the engine takes them.
    pub fn apply(&self) -> anyhow::Result<(TlsVerify, Option<Credentials>)> {
        apply_authfile(self.authfile.as_deref())?;
        let creds = self.creds.as_deref().map(parse_creds).transpose()?;
        Ok((tls_verify(self.tls_verify), creds))
    }
}

/// `--tls-verify` as the engine's option.
pub fn tls_verify(flag: Option<bool>) -> TlsVerify {
    match flag {
        None => TlsVerify::Default,
        Some(true) => TlsVerify::Verify,
        Some(false) => TlsVerify::Skip,
    }
}

/// `--creds user[:password]`; a missing password is an error (there is no
/// prompt in skiff).
pub fn parse_creds(s: &str) -> anyhow::Result<Credentials> {
    match s.split_once(':') {
        Some((u, p)) if !u.is_empty() => Ok(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        }),
        _ => anyhow::bail!("--creds must be USERNAME:PASSWORD"),
    }
}

/// Point the credentials lookup at `--authfile`.
pub fn apply_authfile(path: Option<&std::path::Path>) -> anyhow::Result<()> {
    if let Some(p) = path {
        if !p.exists() {
            anyhow::bail!("credential file {} does not exist", p.display());
        }
        // Set before any thread starts; the auth file loader reads it.
        std::env::set_var("REGISTRY_AUTH_FILE", p);
    }
    Ok(())
}

pub fn run(ctx: &CliContext, args: PullArgs) -> anyhow::Result<ExitCode> {
    let (tls_verify, credentials) = args.registry.apply()?;
    let opts = PullOptions {
        platform: Platform::from_overrides(
            args.platform.as_deref(),
            args.os.as_deref(),
            args.arch.as_deref(),
            args.variant.as_deref(),
        )?,
        tls_verify,
        credentials,
        ..PullOptions::default()
    };
    let engine = ctx.engine()?;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    for name in &args.images {
        let rec = if show_progress {
            let display = Progress::new();
            let r = engine.pull(name, &opts, &display);
            display.finish();
            r
        } else {
            engine.pull(name, &opts, &Silent)
        }
        .with_context(|| format!("pulling {name}"))?;
        print_lines([rec.id.hex()])?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One progress line per layer on a terminal, as podman and docker show.
struct Progress {
    multi: MultiProgress,
    bars: Mutex<HashMap<Digest, ProgressBar>>,
}

impl Progress {
    fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for b in bars.values() {
                b.finish();
            }
        }
    }

    fn line(&self, msg: String) {
        let _ = self.multi.println(msg);
    }
}

fn short(d: &Digest) -> &str {
    &d.hex()[..12]
}

impl PullObserver for Progress {
    fn trying(&self, reference: &Reference) {
        self.line(format!("Trying to pull {reference}..."));
    }

    fn layer_start(&self, blob: &Digest, size: u64) {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(
            ProgressStyle::with_template(
                "Copying blob {msg} [{bar:30}] {binary_bytes} / {binary_total_bytes} {binary_bytes_per_sec}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(short(blob).to_string());
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(blob.clone(), bar);
        }
    }

    fn layer_progress(&self, blob: &Digest, bytes: u64) {
        if let Ok(bars) = self.bars.lock() {
            if let Some(b) = bars.get(blob) {
                b.set_position(bytes);
            }
        }
    }

    fn layer_done(&self, blob: &Digest, existed: bool) {
        if existed {
            self.line(format!(
                "Copying blob {} skipped: already exists",
                short(blob)
            ));
        } else if let Ok(bars) = self.bars.lock() {
            if let Some(b) = bars.get(blob) {
                b.finish_with_message(format!("{} done", short(blob)));
            }
        }
    }

    fn writing_manifest(&self) {
        self.line("Writing manifest to image destination".to_string());
    }
}
