//! `pare monitor serve|token|push`: the fleet monitor (pare-monitor does the work).

use std::time::Duration;

use anyhow::Result;
use pare_monitor::{AdviceOptions, AlertTarget, Origin, PushOptions, Scope, ServeOptions};

use crate::ExitStatus;
use crate::args::{Format, GlobalArgs, MonitorCommand, MonitorDatabaseArg, MonitorTokenCommand, MonitorWatchCommand};
use crate::context::{parse_src, with_subject};
use crate::output::Printer;

fn database(arg: &MonitorDatabaseArg) -> String {
    arg.database.clone().unwrap_or_else(pare_monitor::default_url)
}

pub(crate) fn run(global: &GlobalArgs, printer: &Printer, command: MonitorCommand) -> Result<ExitStatus> {
    match command {
        MonitorCommand::Serve(args) => {
            if !(args.poll_interval.is_finite() && args.poll_interval > 0.0 && args.poll_interval <= 86_400.0) {
                return Err(crate::status::hinted(
                    format!("--poll-interval {} is out of range", args.poll_interval),
                    "give seconds between 0.01 and 86400",
                ));
            }
            if args.alert_secret.is_some() && args.alert_url.is_none() {
                return Err(crate::status::hinted("--alert-secret without --alert-url", "add --alert-url URL"));
            }
            let db_sources = args
                .db_source
                .iter()
                .map(|s| {
                    let path = std::path::Path::new(s);
                    if path.exists() { Ok(pare_vuln::SourceSpec::local(path)) } else { pare_vuln::SourceSpec::parse(s) }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let options = ServeOptions {
                listen: args.listen,
                database: database(&args.database),
                vuln_db: args.vuln_db.clone().unwrap_or_else(pare_vuln::db::default_path),
                allow_anonymous_read: args.allow_anonymous_read,
                alerts: args.alert_url.clone().map(|url| AlertTarget { url, secret: args.alert_secret.clone() }),
                poll: Duration::from_secs_f64(args.poll_interval.max(0.01)),
                lease: Duration::from_secs(args.lease.max(1)),
                worker_id: args.worker_id.clone(),
                db_sources,
                db_update_every: Duration::from_secs(args.db_update_interval.max(1)),
                watches: args.watch.iter().map(|w| pare_monitor::parse_watch_flag(w)).collect::<Result<_, _>>()?,
                insecure_registries: global.insecure,
                advice: advice_options(global, printer, &args)?,
            };
            let vuln_db = options.vuln_db.display().to_string();
            pare_monitor::serve(options, |addr| {
                printer.status(&format!("Listening on http://{addr} (vulnerability database {vuln_db})"));
            })?;
            Ok(ExitStatus::Success)
        }
        MonitorCommand::Token { command: MonitorTokenCommand::Create { scope, name, database: db } } => {
            let scope = Scope::parse(&scope)
                .ok_or_else(|| crate::status::hinted(format!("unknown scope `{scope}`"), "use read or write"))?;
            let token = pare_monitor::create_token(&database(&db), scope, &name)?;
            printer.out(&format!("{token}\n"))?;
            printer.status("The token is shown once: the monitor keeps only its hash");
            Ok(ExitStatus::Success)
        }
        MonitorCommand::Push(args) => {
            let (inventory, found) = with_subject(
                global,
                printer,
                &args.src,
                parse_src(&args.src)?,
                &args.platform,
                &args.limits,
                |subject| {
                    let found = match &subject {
                        pare_vuln::Subject::Image { image, .. } => pare_monitor::origin_of(image),
                        _ => Origin::default(),
                    };
                    let (inventory, warnings) = subject.into_inventory()?;
                    for warning in &warnings {
                        printer.warn(warning);
                    }
                    Ok((inventory, found))
                },
            )?;
            let origin = Origin {
                pare_built: args.pare_built || found.pare_built,
                base_name: args.base_name.clone().or(found.base_name),
                base_digest: args.base_digest.clone().or(found.base_digest),
            };
            let options = PushOptions {
                origin,
                environment: args.environment.clone(),
                team: args.team.clone(),
                repository: args.repository.clone(),
                tag: args.tag.clone(),
                digest: args.digest.clone(),
                product: args.product.clone(),
            };
            let answer = pare_monitor::push(&args.server, &args.token, &inventory, &options)?;
            match args.format.format {
                Format::Json => printer.json(&answer)?,
                Format::Table => {
                    let digest = answer["digest"].as_str().unwrap_or("?");
                    let scan = &answer["scan"];
                    let summary = if scan.is_null() {
                        String::from("not scanned yet (the monitor has no vulnerability database)")
                    } else {
                        format!("{} new findings, {} alerts", scan["new"], scan["alerts"])
                    };
                    printer.status(&format!(
                        "Pushed {} packages of {digest} to {}: {summary}",
                        inventory.packages.len(),
                        args.server
                    ));
                }
            }
            Ok(ExitStatus::Success)
        }
        MonitorCommand::Watch { command } => watch(printer, command),
    }
}

fn watch(printer: &Printer, command: MonitorWatchCommand) -> Result<ExitStatus> {
    match command {
        MonitorWatchCommand::Add { repository, server, environment, team, tags, interval, format } => {
            let watch = pare_monitor::NewWatch {
                repository,
                tags,
                environment,
                team,
                interval_seconds: Some(pare_monitor::parse_interval(&interval)?),
            };
            let added = pare_monitor::add_watch(&server.server, &server.token, &watch)?;
            match format.format {
                Format::Json => printer.json(&serde_json::to_value(&added)?)?,
                Format::Table => printer.out(&format!("{}\n", added.id))?,
            }
            printer.status(&format!(
                "Watching {} ({}) for {}/{} every {} s; the first check runs now",
                added.repository,
                if added.tags.is_empty() { String::from("every tag") } else { added.tags.join(", ") },
                added.environment,
                added.team,
                added.interval_seconds
            ));
        }
        MonitorWatchCommand::List { server, format } => {
            let watches = pare_monitor::list_watches(&server.server, &server.token)?;
            match format.format {
                Format::Json => printer.json(&serde_json::to_value(&watches)?)?,
                Format::Table => printer.out(&watch_table(&watches))?,
            }
        }
        MonitorWatchCommand::Remove { id, server } => {
            pare_monitor::remove_watch(&server.server, &server.token, &id)?;
            printer.status(&format!("Removed watch {id}"));
        }
    }
    Ok(ExitStatus::Success)
}

fn watch_table(watches: &[pare_monitor::Watch]) -> String {
    if watches.is_empty() {
        return "No watches\n".into();
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(["ID", "REPOSITORY", "TAGS", "ENV/TEAM", "EVERY", "LAST CHECK", "SEEN", "LAST ERROR"]);
    let when = |t: i64| {
        jiff::Timestamp::from_second(t).map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
    };
    for w in watches {
        table.add_row([
            w.id.clone(),
            pare_oci::escape_control(&w.repository).into_owned(),
            if w.tags.is_empty() { "*".into() } else { pare_oci::escape_control(&w.tags.join(",")).into_owned() },
            pare_oci::escape_control(&format!("{}/{}", w.environment, w.team)).into_owned(),
            pare_monitor::format_interval(w.interval_seconds),
            w.last_checked_at.map_or_else(|| "never".into(), when),
            w.tags_seen.len().to_string(),
            w.last_error.as_deref().map_or_else(|| "-".into(), |e| pare_oci::escape_control(e).into_owned()),
        ]);
    }
    format!("{table}\n")
}

/// The rebuild-advice options of `serve` (`None` with `--advice-interval 0`).
fn advice_options(
    global: &GlobalArgs,
    printer: &Printer,
    args: &crate::args::MonitorServeArgs,
) -> Result<Option<AdviceOptions>> {
    if args.advice_interval.is_zero() {
        return Ok(None);
    }
    // A keyring named and unreadable stops the server; Debian's missing is reported on the images.
    let keyring = match &args.archive_keyring {
        Some(path) => Ok(pare_deb::Keyring::load(path)?),
        None => pare_deb::Keyring::debian().map_err(|e| match e.hint() {
            Some(hint) => format!("{e} ({hint}, or pass --archive-keyring)"),
            None => e.to_string(),
        }),
    };
    if let Err(e) = &keyring {
        printer.warn(&format!("rebuild advice: {e}"));
    }
    let registry = crate::context::registry_options(global)?;
    Ok(Some(AdviceOptions {
        mirror: args.archive_mirror.clone(),
        security_mirror: args.security_mirror.clone(),
        keyring,
        components: args.archive_components.clone(),
        every: args.advice_interval,
        registry,
    }))
}
