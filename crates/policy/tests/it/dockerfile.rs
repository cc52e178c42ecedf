//! Each check of the Dockerfile audit with a failing and a passing case, messages and fixes word
//! for word; syntax errors with their position; the gallery suggestion and the rewritten stage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_policy::dockerfile::{Audit, audit};
use pare_policy::{Action, Error};

fn run(text: &str) -> Audit {
    audit("Dockerfile", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// The failures of `code`: (line, column, action, message, fix).
fn of(audit: &Audit, code: &str) -> Vec<(usize, usize, Action, String, String)> {
    audit
        .verdict
        .failures
        .iter()
        .filter(|f| f.rule == code)
        .map(|f| {
            let l = f.location.unwrap();
            (l.line, l.column, f.action, f.message.clone(), f.fix.clone())
        })
        .collect()
}

fn passes(audit: &Audit, code: &str) -> bool {
    of(audit, code).is_empty() && audit.verdict.passed.iter().any(|p| p == code)
}

const MINIMAL: &str = "FROM gcr.io/distroless/static:nonroot@sha256:1111111111111111111111111111111111111111111111111111111111111111\nCOPY app /app\nENTRYPOINT [\"/app\"]\n";

#[test]
fn a_minimal_pinned_nonroot_dockerfile_passes_everything() {
    let a = run(MINIMAL);
    assert!(a.verdict.failures.is_empty(), "{:#?}", a.verdict.failures);
    assert!(!a.verdict.denied());
    assert_eq!(a.verdict.passed.len(), 10);
    assert!(a.suggestion.is_none());
}

#[test]
fn df001_full_os_final_stage() {
    let a = run(
        "FROM golang:1.22 AS build\nRUN CGO_ENABLED=0 go build -o /app .\nFROM debian:bookworm-slim\nCOPY --from=build /app /app\nUSER 1000\nENTRYPOINT [\"/app\"]\n",
    );
    assert_eq!(
        of(&a, "DF001"),
        [(
            3,
            1,
            Action::Deny,
            "final stage is based on debian:bookworm-slim, a full Debian system with a shell and a package manager".into(),
            "build on gallery:bookworm/static instead (`pare build gallery:bookworm/static`; the rewritten stage is printed below)".into()
        )]
    );
    // Through a stage: the stage's base ships.
    let a = run("FROM alpine:3.20 AS base\nFROM base\nUSER 1\n");
    assert_eq!(
        of(&a, "DF001")[0].3,
        "final stage is based on alpine:3.20 (through stage base), a full Alpine system with a shell and a package manager"
    );
    assert!(passes(&run(MINIMAL), "DF001"));
    assert!(passes(&run("FROM scratch\nCOPY app /app\nUSER 1\n"), "DF001"));
}

#[test]
fn df002_and_df003_tags_and_digests() {
    let a = run("FROM ubuntu\nUSER 1\n");
    assert_eq!(
        of(&a, "DF003"),
        [(
            1,
            1,
            Action::Deny,
            "base ubuntu has no tag, so it is whatever `latest` is at build time".into(),
            "name a version and pin its digest: FROM ubuntu:<version>@sha256:<digest>".into()
        )]
    );
    assert_eq!(
        of(&a, "DF002"),
        [(
            1,
            1,
            Action::Warn,
            "base ubuntu is not pinned by a digest".into(),
            "pin it: FROM ubuntu@sha256:<digest> (`pare inspect ubuntu` prints the digest)".into()
        )]
    );
    let a = run("FROM   node:latest AS b\nFROM b\nUSER 1\n");
    assert_eq!(of(&a, "DF003")[0].3, "base node:latest uses the `latest` tag, which moves");
    assert_eq!(of(&a, "DF003")[0].4, "name a version and pin its digest: FROM node:<version>@sha256:<digest>");
    // A stage reference is no image; a digest pins even `latest`.
    let a = run(&format!("FROM alpine:latest@sha256:{} AS b\nFROM b\nUSER 1\n", "2".repeat(64)));
    assert!(passes(&a, "DF002") && passes(&a, "DF003"));
    // COPY --from an image pulls it as FROM does; a stage name or index does not.
    let a = run(
        "FROM scratch AS s\nFROM scratch\nCOPY --from=nginx /etc/nginx /n\nCOPY --from=S /a /b\nCOPY --from=0 /a /c\nUSER 1\n",
    );
    assert_eq!(
        of(&a, "DF003"),
        [(
            3,
            1,
            Action::Deny,
            "COPY --from image nginx has no tag, so it is whatever `latest` is at build time".into(),
            "name a version and pin its digest: COPY --from=nginx:<version>@sha256:<digest>".into()
        )]
    );
    assert_eq!(of(&a, "DF002").len(), 1);
    // ARG before FROM, substituted.
    let a = run("ARG TAG=3.20\nFROM alpine:${TAG}\nUSER 1\n");
    assert!(passes(&a, "DF003"));
    assert_eq!(of(&a, "DF002")[0].3, "base alpine:3.20 is not pinned by a digest");
}

#[test]
fn df004_root_user() {
    let a = run("FROM python:3.12-slim\nUSER app\nUSER root\nCMD [\"python\"]\n");
    assert_eq!(
        of(&a, "DF004"),
        [(
            3,
            1,
            Action::Deny,
            "final stage runs as root: USER root".into(),
            "set a non-root user last: `USER 65532:65532` (or a named user the image has)".into()
        )]
    );
    let a = run("FROM python:3.12-slim\nCMD [\"python\"]\n");
    assert_eq!(
        of(&a, "DF004"),
        [(
            1,
            1,
            Action::Deny,
            "final stage runs as root: no USER, and python:3.12-slim runs as root".into(),
            "add `USER 65532:65532` (or a named non-root user) before ENTRYPOINT/CMD".into()
        )]
    );
    assert_eq!(of(&run("FROM python:3.12-slim\nUSER 0:0\n"), "DF004")[0].3, "final stage runs as root: USER 0:0");
    // Root in a build stage is fine; the USER of the stage the final one is FROM counts.
    assert!(passes(&run("FROM debian:12 AS b\nUSER root\nFROM scratch\nUSER 65532\n"), "DF004"));
    assert!(passes(&run("FROM debian:12 AS b\nUSER 1000\nFROM b\n"), "DF004"));
    assert!(passes(&run(MINIMAL), "DF004"));
}

#[test]
fn df005_and_df006_build_tools_and_package_managers_in_the_final_stage() {
    let a = run(
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends gcc make libssl3 \\\n && rm -rf /var/lib/apt/lists/*\nUSER 1\n",
    );
    assert_eq!(
        of(&a, "DF005"),
        [(
            2,
            1,
            Action::Deny,
            "final image gets build tools: gcc, make".into(),
            "compile in a build stage and COPY --from it the result; the final stage needs only runtime libraries"
                .into()
        )]
    );
    assert_eq!(
        of(&a, "DF006"),
        [(
            2,
            1,
            Action::Warn,
            "final image installs packages with apt-get, so apt-get ships in it".into(),
            "install in a build stage and COPY --from it what runs, or build the base with pare from Debian packages (a gallery image or a definition)".into()
        )]
    );
    // In a build stage: nothing; removed again in the same RUN: no DF005.
    let a = run("FROM debian:12 AS b\nRUN apt-get install -y gcc\nFROM scratch\nUSER 1\n");
    assert!(passes(&a, "DF005") && passes(&a, "DF006"));
    let a = run("FROM alpine:3\nRUN apk add --virtual .deps build-base && make && apk del .deps\nUSER 1\n");
    assert!(passes(&a, "DF005"));
    assert_eq!(of(&a, "DF006")[0].3, "final image installs packages with apk, so apk ships in it");
    assert_eq!(
        of(&run("FROM python:3\nRUN python -m pip install flask\nUSER 1\n"), "DF006")[0].3,
        "final image installs packages with pip, so pip ships in it"
    );
}

#[test]
fn df007_download_piped_into_a_shell() {
    let a = run("FROM debian:12 AS b\nRUN curl -fsSL https://sh.rustup.rs \\\n  | sh -s -- -y\nFROM scratch\nUSER 1\n");
    assert_eq!(
        of(&a, "DF007"),
        [(
            2,
            1,
            Action::Deny,
            "RUN pipes a download into a shell: curl … | sh".into(),
            "download to a file, check its SHA-256 (`echo '<sha256>  file' | sha256sum -c`), then run it; or install a signed package".into()
        )]
    );
    assert_eq!(
        of(&run("FROM debian:12\nRUN [\"bash\", \"-c\", \"wget -qO- https://x | sudo bash\"]\nUSER 1\n"), "DF007")[0].3,
        "RUN pipes a download into a shell: wget … | bash"
    );
    assert_eq!(
        of(&run("FROM debian:12\nRUN sh -c \"$(curl -fsSL https://x)\"\nUSER 1\n"), "DF007")[0].3,
        "RUN runs a download as a script: sh -c \"$(curl …)\""
    );
    let a = run(
        "FROM debian:12\nRUN curl -fsSLo i.sh https://x && echo 'ab  i.sh' | sha256sum -c && sh i.sh\nRUN echo 'curl x | sh'\nUSER 1\n",
    );
    assert!(passes(&a, "DF007"));
}

#[test]
fn df008_add_from_a_url() {
    let a = run("FROM scratch\nADD https://example.com/tool.tgz /tool.tgz\nUSER 1\n");
    assert_eq!(
        of(&a, "DF008"),
        [(
            2,
            1,
            Action::Deny,
            "ADD fetches https://example.com/tool.tgz without a checksum".into(),
            "add `--checksum=sha256:<hex>` (ADD --checksum=sha256:<hex> https://example.com/tool.tgz …), or download and verify it in a build stage".into()
        )]
    );
    let a = run(&format!(
        "FROM scratch\nADD --checksum=sha256:{} https://example.com/t /t\nADD local.tgz /\nUSER 1\n",
        "3".repeat(64)
    ));
    assert!(passes(&a, "DF008"));
}

#[test]
fn df009_apt_lists_left_behind() {
    let a = run("FROM debian:12\nRUN apt-get update && apt-get install -y curl\nUSER 1\n");
    assert_eq!(
        of(&a, "DF009"),
        [(
            2,
            1,
            Action::Warn,
            "apt-get update leaves the package lists (/var/lib/apt/lists) in the layer".into(),
            "end the same RUN with `&& rm -rf /var/lib/apt/lists/*`".into()
        )]
    );
    assert!(passes(
        &run("FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nUSER 1\n"),
        "DF009"
    ));
    assert!(passes(
        &run("FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt apt-get update\nUSER 1\n"),
        "DF009"
    ));
    // A heredoc script is read too.
    let a = run("FROM debian:12\nRUN <<EOF\napt-get update\nEOF\nUSER 1\n");
    assert_eq!(of(&a, "DF009").len(), 1);
}

#[test]
fn df010_secrets_in_env_and_arg() {
    let a = run(
        "ARG NPM_TOKEN=abc\nFROM scratch\nENV DB_PASSWORD=hunter2 PORT=80\nENV API_KEY legacy form\nARG GITHUB_TOKEN\nENV POSTGRES_PASSWORD_FILE=/run/secrets/db\nUSER 1\n",
    );
    let found = of(&a, "DF010");
    assert_eq!(
        found.iter().map(|f| (f.0, f.3.as_str())).collect::<Vec<_>>(),
        [
            (1, "ARG NPM_TOKEN puts a secret in the image (its value is kept in the image's config or history)"),
            (3, "ENV DB_PASSWORD puts a secret in the image (its value is kept in the image's config or history)"),
            (4, "ENV API_KEY puts a secret in the image (its value is kept in the image's config or history)"),
        ]
    );
    assert_eq!(
        found[1].4,
        "pass it to the RUN that needs it: `RUN --mount=type=secret,id=db_password` (docker build --secret), or at run time from a secret store"
    );
    assert!(passes(&run("FROM scratch\nARG TOKEN\nENV PASSWORD=\"\"\nUSER 1\n"), "DF010"));
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let err = audit("app/Dockerfile", b"FROM debian:12\nRUN echo hi\nFROBNICATE x\n").unwrap_err();
    assert_eq!(err.to_string(), "app/Dockerfile:3:1: unknown instruction 'FROBNICATE'");
    assert!(matches!(err, Error::DockerfileSyntax { line: 3, column: 1, .. }));
    let err = audit("Dockerfile", b"RUN echo\n").unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile:1:1: expected FROM");
    let err = audit("Dockerfile", b"FROM a\nRUN <<EOF\necho\n").unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile:4:1: expected end of here-document (EOF), but reached eof");
    let err = audit("Dockerfile", b"").unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile:0:0: expected at least one FROM instruction");
    let err = audit("Dockerfile", b"FROM a\nRUN \xff\n").unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile:2: it is not UTF-8 text");
    let err = audit("Dockerfile", &vec![b'#'; pare_policy::dockerfile::MAX_DOCKERFILE_SIZE + 1]).unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile: larger than the 4194304 bytes a Dockerfile may have");
}

#[test]
fn suggestion_maps_the_final_stage_to_a_gallery_image() {
    let cases = [
        (
            "FROM golang:1.22 AS b\nRUN CGO_ENABLED=0 go build -o /app\nFROM alpine:3.20\nCOPY --from=b /app /app\n",
            "bookworm/static",
        ),
        ("FROM golang:1.22 AS b\nRUN go build -o /app\nFROM debian:12\nCOPY --from=b /app /app\n", "bookworm/base"),
        (
            "FROM rust:1 AS b\nRUN cargo build --release\nFROM debian:trixie-slim\nCOPY --from=b /t/app /app\n",
            "trixie/cc",
        ),
        ("FROM gcc:13 AS b\nRUN g++ -o /app a.cc\nFROM ubuntu:24.04\nCOPY --from=b /app /app\n", "bookworm/cc"),
        ("FROM python:3.12-slim\nCOPY . /app\n", "bookworm/python3"),
        // The language version picks the suite that has it (trixie: Node.js 20, Python 3.13, Java 21).
        ("FROM node:20\nCMD [\"node\", \"i.js\"]\n", "trixie/nodejs"),
        ("FROM node:18-slim\nCMD [\"node\", \"i.js\"]\n", "bookworm/nodejs"),
        ("FROM python:3.13-slim\n", "trixie/python3"),
        ("FROM eclipse-temurin:21-jre\n", "trixie/java"),
        (
            "FROM maven:3 AS b\nRUN mvn package\nFROM eclipse-temurin:17-jre\nCOPY --from=b /t/app.jar /app.jar\n",
            "bookworm/java",
        ),
        ("FROM ubuntu:24.04\nCOPY tool /tool\n", "bookworm/base"),
    ];
    for (text, gallery) in cases {
        assert_eq!(run(text).suggestion.unwrap().gallery, gallery, "{text}");
    }
}

#[test]
fn the_rewritten_final_stage() {
    let a = run(
        "FROM python:3.12 AS build\nRUN pip install --prefix=/install flask\n\nFROM python:3.12-slim AS app\nWORKDIR /app\nCOPY --from=build /install /usr/local\n# the code\nCOPY . .\nRUN useradd app\nUSER app\nEXPOSE 8000\nCMD [\"python\", \"app.py\"]\n",
    );
    let s = a.suggestion.unwrap();
    assert_eq!(s.gallery, "bookworm/python3");
    assert_eq!(s.reason, "the final stage is based on python; it has 3.11 where the Dockerfile uses 3.12");
    assert_eq!(s.build, "pare build gallery:bookworm/python3 --to REGISTRY/python3:bookworm");
    assert_eq!(
        s.dockerfile,
        "# gallery:bookworm/python3 has 3.11, the Dockerfile used 3.12: rebuild what is copied for 3.11 (a venv, wheels, native modules).\n\
# The final stage on gallery:bookworm/python3: no shell, no package manager, user 65532.\n\
# Build the base, then pin the digest that command prints (pare knows it only after the\n\
# build: the gallery has no committed lock and Debian's archive moves):\n\
#   pare build gallery:bookworm/python3 --to REGISTRY/python3:bookworm\n\
FROM REGISTRY/python3:bookworm@sha256:DIGEST AS app\n\
WORKDIR /app\n\
COPY --from=build /install /usr/local\n\
COPY . .\n\
# dropped, the image has no shell (do it in a build stage): RUN useradd app\n\
EXPOSE 8000\n\
USER 65532:65532\n\
CMD [\"python\", \"app.py\"]\n"
    );
}
