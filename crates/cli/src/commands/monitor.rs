//! `pare monitor serve|token|push`: the fleet monitor (pare-monitor does the work).

use std::time::Duration;

use anyhow::Result;
use pare_monitor::{AlertTarget, PushOptions, Scope, ServeOptions};

use crate::ExitStatus;
use crate::args::{Format, GlobalArgs, MonitorCommand, MonitorDatabaseArg, MonitorTokenCommand};
use crate::context::inventory_of;
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
            let inventory = inventory_of(global, printer, &args.src, &args.platform, &args.limits)?;
            let options = PushOptions {
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
    }
}
