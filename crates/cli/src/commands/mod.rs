//! One module per verb: each parses nothing (clap did), makes one library call and prints.

mod admission;
mod audit;
mod build;
mod completions;
mod db;
mod diff;
mod evidence;
mod files;
mod inspect;
mod key;
mod monitor;
mod outdated;
mod policy;
mod sbom;
mod scan;
mod sign;
mod sign_blob;
mod transfer;
mod verify_blob;
mod vex;

use anyhow::Result;
use pare_oci::Location;

use crate::ExitStatus;
use crate::args::{Cli, Command};
use crate::context::image_location;
use crate::output::Printer;

/// Runs the verb `cli` names.
pub fn run(cli: Cli, printer: &Printer) -> Result<ExitStatus> {
    let global = &cli.global;
    match cli.command {
        Command::Pull { reference, to, platform, max_size } => {
            let src = match Location::parse(&reference)? {
                loc @ Location::Registry(_) => loc,
                other => {
                    return Err(crate::status::hinted(
                        format!("`{other}` is not a registry reference"),
                        "use `pare copy` to copy between local locations",
                    ));
                }
            };
            let dst = Location::parse_destination(&to)?;
            transfer::transfer(global, printer, &src, &dst, &platform, max_size, false)
        }
        Command::Push { src, reference, platform } => {
            let dst = match Location::parse(&reference)? {
                loc @ Location::Registry(_) => loc,
                other => {
                    return Err(crate::status::hinted(
                        format!("`{other}` is not a registry reference"),
                        "use `pare copy` to write to local locations",
                    ));
                }
            };
            let src = image_location(&src)?;
            transfer::transfer(global, printer, &src, &dst, &platform, pare_oci::DOCKER_ARCHIVE_MAX_SIZE, false)
        }
        Command::Copy { src, dst, platform, max_size, referrers } => {
            let (src, dst) = (image_location(&src)?, Location::parse_destination(&dst)?);
            transfer::transfer(global, printer, &src, &dst, &platform, max_size, referrers)
        }
        Command::Inspect { src, platform, all_platforms, format } => {
            inspect::inspect(global, printer, &image_location(&src)?, &platform, all_platforms, format.format)
        }
        Command::Ls { src, path, shallow, platform, limits, format } => {
            let src = image_location(&src)?;
            files::ls(global, printer, &src, path.as_deref(), shallow, &platform, &limits, format.format)
        }
        Command::Ldd { src, paths, libraries, platform, limits, format } => {
            let src = image_location(&src)?;
            files::ldd(global, printer, &src, &paths, libraries, &platform, &limits, format.format)
        }
        Command::Cat { src, path, platform, limits } => {
            files::cat(global, printer, &image_location(&src)?, &path, &platform, &limits)
        }
        Command::Unpack { src, dir, platform, limits, allow_devices, keep_setid } => {
            let options = files::UnpackFlags { allow_devices, keep_setid };
            files::unpack(global, printer, &image_location(&src)?, &dir, &platform, &limits, options)
        }
        Command::Build(args) => build::build(global, printer, &args),
        Command::Lock { definition } => build::lock(printer, &definition, false),
        Command::Update { definition } => build::lock(printer, &definition, true),
        Command::Why { definition, package, arch } => build::why(printer, &definition, &package, arch.as_deref()),
        Command::Gallery { command: crate::args::GalleryCommand::List { format } } => {
            build::gallery_list(printer, format.format)
        }
        Command::Db { command } => db::run(printer, command),
        Command::Monitor { command } => monitor::run(global, printer, command),
        Command::Scan(args) => scan::scan(global, printer, &args),
        Command::Diff(args) => diff::diff(global, printer, &args),
        Command::Vex(args) => vex::vex(printer, &args),
        Command::Audit(args) => audit::audit(global, printer, &args),
        Command::Outdated(args) => outdated::outdated(global, printer, &args),
        Command::Sbom { src, format, output, platform, limits, attached } => {
            if attached {
                return sbom::attached(global, printer, &src, format, output.as_deref(), &platform);
            }
            sbom::sbom(global, printer, &src, format, output.as_deref(), &platform, &limits)
        }
        Command::Sign(args) => sign::sign(global, printer, &args),
        Command::Verify(args) => sign::verify(global, printer, &args),
        Command::Attest(args) => sign::attest(global, printer, &args),
        Command::VerifyAttestation(args) => sign::verify_attestation(global, printer, &args),
        Command::Policy { command: crate::args::PolicyCommand::Init { output } } => {
            policy::init(printer, output.as_deref())
        }
        Command::Policy { command: crate::args::PolicyCommand::Check(args) } => policy::check(global, printer, &args),
        Command::Evidence(args) => evidence::evidence(global, printer, &args),
        Command::VerifyEvidence { file, key, format } => {
            evidence::verify(printer, &file, key.as_deref(), format.format)
        }
        Command::Completions { shell } => completions::completions(printer, shell),
        Command::Man { dir } => completions::man(printer, dir.as_deref()),
        Command::Key { command: crate::args::KeyCommand::Generate { output_key_prefix, force } } => {
            key::generate(printer, &output_key_prefix, force)
        }
        Command::Admission { command: crate::args::AdmissionCommand::Serve(args) } => admission::serve(&args),
        Command::SignBlob(args) => sign_blob::sign_blob(printer, &args),
        Command::VerifyBlob(args) => verify_blob::verify_blob(printer, &args),
    }
}
