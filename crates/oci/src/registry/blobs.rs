//! Blobs: existence checks, downloads that resume after a dropped connection, and uploads
//! (monolithic, chunked, or mounted from another repository).

use std::io::{self, Read};
use std::sync::Arc;

use reqwest::blocking::Response;
use reqwest::header;
use reqwest::{Method, StatusCode, Url};

use super::client::{Call, Client, Counters, Host, StallGuard, header_str, pull_scope, push_scope, status_error};
use crate::digest::{Digest, parse_digest};
use crate::{Error, Reference, Result};

/// How [`Client::push_blob`] got the blob into the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobPush {
    /// The content was uploaded.
    Uploaded,
    /// The registry linked the blob from another repository; nothing was uploaded.
    Mounted,
}

fn blob_path(reference: &Reference, digest: &Digest) -> String {
    format!("{}/blobs/{digest}", reference.repository())
}

/// Whether an error is worth trying again: a connection failure, or a status the server may not repeat.
fn transient(err: &Error) -> bool {
    matches!(err.root(), Error::Registry { status: None, .. })
        || matches!(err.root(), Error::Registry { status: Some(s), .. } if matches!(s, 408 | 429 | 500..=599))
}

fn location_of(resp: &Response) -> Result<Url> {
    let location = header_str(resp, "location").ok_or_else(|| Error::Registry {
        url: resp.url().to_string(),
        status: Some(resp.status().as_u16()),
        message: "the registry answered an upload request without a Location header".into(),
    })?;
    resp.url().join(location).map_err(|e| Error::Registry {
        url: resp.url().to_string(),
        status: Some(resp.status().as_u16()),
        message: format!("the upload Location `{location}` is not a URL: {e}"),
    })
}

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Client {
    /// The size of a blob if the repository has it (`HEAD`), `None` if not.
    pub fn blob_exists(&self, reference: &Reference, digest: &Digest) -> Result<Option<u64>> {
        let host = self.host(reference)?;
        let url = self.url(&host, &blob_path(reference, digest))?;
        let call = Call::new(Method::HEAD, url, vec![pull_scope(reference.repository())]);
        let resp = self.send(&host, reference.repository(), &call)?;
        match resp.status() {
            StatusCode::OK => {
                Ok(Some(header_str(&resp, "content-length").and_then(|l| l.parse().ok()).unwrap_or_default()))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(resp, &format!("checking blob `{digest}`"))),
        }
    }

    /// Streams a blob. The stream is not verified here ([`crate::Source::fetch`] does that); when
    /// the connection drops it continues with a `Range` request, or downloads again and skips what
    /// was already read when the registry ignores ranges.
    pub fn get_blob(&self, reference: &Reference, digest: &Digest, size: u64) -> Result<BlobReader> {
        let host = self.host(reference)?;
        let url = self.url(&host, &blob_path(reference, digest))?;
        let mut reader = BlobReader {
            client: self.clone(),
            host,
            repository: reference.repository().to_string(),
            location: reference.name(),
            url,
            digest: digest.clone(),
            size,
            response: None,
            offset: 0,
            resumes_left: self.config().max_attempts.max(1),
        };
        reader.response = Some(reader.open_at(0)?);
        Counters::add(&self.counters().blob_downloads);
        Ok(reader)
    }

    /// Uploads a blob of `size` bytes with this digest, reading `content` (which the caller
    /// verifies). With `mount_from`, asks the registry to link the blob from that repository of
    /// the same registry first, and uploads only if it cannot. Blobs above
    /// [`super::ClientConfig::chunk_threshold`] go in chunks, the rest in one request.
    pub fn push_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        size: u64,
        content: &mut dyn Read,
        mount_from: Option<&str>,
    ) -> Result<BlobPush> {
        let host = self.host(reference)?;
        let repo = reference.repository();
        let mount_from = mount_from.filter(|from| *from != repo);
        let session = match mount_from {
            Some(from) => match self.start_upload(&host, reference, Some((digest, from)))? {
                None => {
                    Counters::add(&self.counters().blob_mounts);
                    tracing::debug!(%digest, from, to = repo, "mounted blob");
                    return Ok(BlobPush::Mounted);
                }
                Some(session) => session,
            },
            None => self.start_upload(&host, reference, None)?.ok_or_else(|| Error::Registry {
                url: host.base.to_string(),
                status: Some(201),
                message: "the registry completed an upload that was not started".into(),
            })?,
        };
        let result = if size > self.config().chunk_threshold {
            self.upload_chunked(&host, reference, session.clone(), digest, size, content)
        } else {
            self.upload_monolithic(&host, reference, session.clone(), digest, size, content)
        };
        if result.is_ok() {
            Counters::add(&self.counters().blob_uploads);
        }
        result.map(|()| BlobPush::Uploaded)
    }

    /// `POST /v2/NAME/blobs/uploads/`, optionally with `?mount=&from=`. `None` means mounted.
    fn start_upload(&self, host: &Host, reference: &Reference, mount: Option<(&Digest, &str)>) -> Result<Option<Url>> {
        let repo = reference.repository();
        let mut url = self.url(host, &format!("{repo}/blobs/uploads/"))?;
        let mut scopes = vec![push_scope(repo)];
        if let Some((digest, from)) = mount {
            url.query_pairs_mut().append_pair("mount", digest.as_ref()).append_pair("from", from);
            scopes.push(pull_scope(from));
        }
        let call = Call::new(Method::POST, url, scopes).body(Vec::new());
        let resp = self.send(host, repo, &call)?;
        match resp.status() {
            StatusCode::CREATED if mount.is_some() => Ok(None),
            StatusCode::ACCEPTED => location_of(&resp).map(Some),
            _ => Err(status_error(resp, &format!("starting an upload to `{}`", reference.name()))),
        }
    }

    /// Abandons an upload session (best effort: the registry purges stale ones anyway).
    fn cancel_upload(&self, host: &Host, repo: &str, session: &Url) {
        let call = Call::new(Method::DELETE, session.clone(), vec![push_scope(repo)]).no_retry();
        if let Err(e) = self.send(host, repo, &call) {
            tracing::debug!(%session, error = %e, "cancelling the upload failed");
        }
    }

    fn finish_url(session: &Url, digest: &Digest) -> Url {
        let mut url = session.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_ref());
        url
    }

    /// Checks the answer to the final `PUT` of an upload.
    fn check_committed(resp: Response, digest: &Digest) -> Result<()> {
        if resp.status() != StatusCode::CREATED {
            return Err(status_error(resp, &format!("finishing the upload of blob `{digest}`")));
        }
        if let Some(announced) = header_str(&resp, "docker-content-digest").and_then(|d| parse_digest(d).ok())
            && &announced != digest
        {
            return Err(Error::Registry {
                url: resp.url().to_string(),
                status: Some(201),
                message: format!("the registry stored blob `{digest}` as `{announced}`"),
            });
        }
        Ok(())
    }

    /// One `PUT ?digest=` with the whole blob, which is read into memory (it is below the chunk
    /// threshold). A failed attempt starts a fresh session: a half-written one cannot be trusted.
    fn upload_monolithic(
        &self,
        host: &Arc<Host>,
        reference: &Reference,
        mut session: Url,
        digest: &Digest,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<()> {
        let repo = reference.repository();
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let read = content.take(size.saturating_add(1)).read_to_end(&mut data);
        if let Err(e) = read {
            self.cancel_upload(host, repo, &session);
            return Err(Error::from_io(format!("reading blob `{digest}` to upload it"), e));
        }
        if data.len() as u64 != size {
            self.cancel_upload(host, repo, &session);
            return Err(Error::SizeMismatch {
                digest: digest.clone(),
                expected_size: size,
                actual_size: data.len() as u64,
            });
        }
        let data = bytes::Bytes::from(data);
        let max = self.config().max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let call = Call::new(Method::PUT, Self::finish_url(&session, digest), vec![push_scope(repo)])
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(data.clone())
                .no_retry();
            let result = self.send(host, repo, &call).and_then(|resp| Self::check_committed(resp, digest));
            match result {
                Ok(()) => {
                    tracing::debug!(%digest, size, repo, "uploaded blob");
                    return Ok(());
                }
                Err(e) if attempt < max && transient(&e) => {
                    tracing::debug!(%digest, error = %e, attempt, "upload failed; starting again");
                    Counters::add(&self.counters().retries);
                    self.cancel_upload(host, repo, &session);
                    std::thread::sleep(self.backoff(attempt));
                    session = match self.start_upload(host, reference, None)? {
                        Some(session) => session,
                        None => return Ok(()),
                    };
                }
                Err(e) => {
                    self.cancel_upload(host, repo, &session);
                    return Err(e);
                }
            }
        }
    }

    /// `PATCH` chunks with `Content-Range`, then `PUT ?digest=`. Holds one chunk in memory; a
    /// failed chunk is resent from where the registry says the upload stands.
    fn upload_chunked(
        &self,
        host: &Arc<Host>,
        reference: &Reference,
        mut session: Url,
        digest: &Digest,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<()> {
        let repo = reference.repository();
        let mut buf = vec![0u8; self.config().chunk_size.max(1)];
        let mut offset: u64 = 0;
        loop {
            let n = match read_full(content, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    self.cancel_upload(host, repo, &session);
                    return Err(Error::from_io(format!("reading blob `{digest}` to upload it"), e));
                }
            };
            if n == 0 {
                break;
            }
            if offset + n as u64 > size {
                self.cancel_upload(host, repo, &session);
                return Err(Error::SizeMismatch {
                    digest: digest.clone(),
                    expected_size: size,
                    actual_size: offset + n as u64,
                });
            }
            match self.upload_chunk(host, repo, &session, &buf[..n], offset, digest) {
                Ok(next) => session = next,
                Err(e) => {
                    self.cancel_upload(host, repo, &session);
                    return Err(e);
                }
            }
            offset += n as u64;
        }
        if offset != size {
            self.cancel_upload(host, repo, &session);
            return Err(Error::SizeMismatch { digest: digest.clone(), expected_size: size, actual_size: offset });
        }
        let call = Call::new(Method::PUT, Self::finish_url(&session, digest), vec![push_scope(repo)])
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Vec::new());
        let resp = self.send(host, repo, &call)?;
        // A retried PUT may find the upload already committed by the first one.
        if resp.status() == StatusCode::NOT_FOUND && self.blob_exists(reference, digest)? == Some(size) {
            return Ok(());
        }
        Self::check_committed(resp, digest)?;
        tracing::debug!(%digest, size, repo, "uploaded blob in chunks");
        Ok(())
    }

    /// Sends one chunk; returns the session URL for the next request.
    fn upload_chunk(
        &self,
        host: &Host,
        repo: &str,
        session: &Url,
        chunk: &[u8],
        offset: u64,
        digest: &Digest,
    ) -> Result<Url> {
        let max = self.config().max_attempts.max(1);
        let mut session = session.clone();
        let mut start = 0usize;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let part = &chunk[start..];
            let first = offset + start as u64;
            let last = first + part.len() as u64 - 1;
            let call = Call::new(Method::PATCH, session.clone(), vec![push_scope(repo)])
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_RANGE, &format!("{first}-{last}"))
                .body(part.to_vec())
                .no_retry();
            Counters::add(&self.counters().upload_chunks);
            let failure = match self.send(host, repo, &call) {
                Ok(resp) if resp.status() == StatusCode::ACCEPTED => return location_of(&resp),
                Ok(resp) => status_error(resp, &format!("uploading bytes {first}-{last} of blob `{digest}`")),
                Err(e) => e,
            };
            if attempt >= max || !transient(&failure) {
                return Err(failure);
            }
            // Ask where the upload stands and resend what the registry does not have.
            Counters::add(&self.counters().retries);
            std::thread::sleep(self.backoff(attempt));
            let status = Call::new(Method::GET, session.clone(), vec![push_scope(repo)]);
            let resp = self.send(host, repo, &status)?;
            if resp.status() != StatusCode::NO_CONTENT {
                return Err(Error::Registry {
                    url: resp.url().to_string(),
                    status: Some(resp.status().as_u16()),
                    message: format!(
                        "uploading blob `{digest}` failed at byte {first} ({failure}), and the registry cannot resume \
                         the upload"
                    ),
                }
                .with_hint("push again"));
            }
            let end: u64 = header_str(&resp, "range")
                .and_then(|r| r.trim_start_matches("bytes=").split_once('-'))
                .and_then(|(_, end)| end.parse().ok())
                .unwrap_or(0);
            // `0-0` means either nothing or one byte; only an empty upload can start at 0.
            let committed = if end == 0 { offset.min(1) } else { end + 1 };
            if committed < offset || committed > offset + chunk.len() as u64 {
                return Err(Error::Registry {
                    url: resp.url().to_string(),
                    status: None,
                    message: format!(
                        "uploading blob `{digest}`: the registry holds {committed} bytes, but this chunk covers {offset}-{}",
                        offset + chunk.len() as u64
                    ),
                });
            }
            session = location_of(&resp).unwrap_or(session);
            start = (committed - offset) as usize;
            if start == chunk.len() {
                return Ok(session);
            }
            tracing::debug!(%digest, committed, "resending the rest of a chunk");
        }
    }
}

/// A blob download that continues after the connection drops (see [`Client::get_blob`]).
pub struct BlobReader {
    client: Client,
    host: Arc<Host>,
    repository: String,
    location: String,
    url: Url,
    digest: Digest,
    size: u64,
    response: Option<StallGuard<Response>>,
    offset: u64,
    resumes_left: u32,
}

impl BlobReader {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Starts a download at `offset`, skipping bytes itself when the registry ignores `Range`.
    fn open_at(&self, offset: u64) -> Result<StallGuard<Response>> {
        let mut call = Call::new(Method::GET, self.url.clone(), vec![pull_scope(&self.repository)]).download();
        if offset > 0 {
            call = call.header(header::RANGE, &format!("bytes={offset}-"));
        }
        let resp = self.client.send(&self.host, &self.repository, &call)?;
        let stall_timeout = self.client.config().stall_timeout;
        match resp.status() {
            StatusCode::OK => {
                let mut resp = StallGuard::new(resp, stall_timeout);
                if offset > 0 {
                    tracing::debug!(digest = %self.digest, offset, "the registry ignored Range; skipping");
                    let skipped = io::copy(&mut (&mut resp).take(offset), &mut io::sink())
                        .map_err(|e| Error::from_io(format!("downloading blob `{}`", self.digest), e))?;
                    if skipped != offset {
                        return Err(Error::SizeMismatch {
                            digest: self.digest.clone(),
                            expected_size: self.size,
                            actual_size: skipped,
                        });
                    }
                }
                Ok(resp)
            }
            StatusCode::PARTIAL_CONTENT => {
                let range = header_str(&resp, "content-range").unwrap_or_default();
                if !range.starts_with(&format!("bytes {offset}-")) {
                    return Err(Error::Registry {
                        url: resp.url().to_string(),
                        status: Some(206),
                        message: format!("asked for blob `{}` from byte {offset}, got range `{range}`", self.digest),
                    });
                }
                Ok(StallGuard::new(resp, stall_timeout))
            }
            StatusCode::NOT_FOUND => {
                Err(Error::BlobNotFound { digest: self.digest.clone(), location: self.location.clone() })
            }
            _ => Err(status_error(resp, &format!("downloading blob `{}`", self.digest))),
        }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let failure = match self.response.as_mut().map(|r| r.read(buf)) {
                Some(Ok(0)) if self.offset < self.size => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the connection ended after {} of {} bytes", self.offset, self.size),
                ),
                Some(Ok(n)) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Some(Err(e)) => e,
                None => io::Error::other("no connection"),
            };
            self.response = None;
            if self.resumes_left == 0 {
                let error = Error::Registry {
                    url: self.url.to_string(),
                    status: None,
                    message: format!(
                        "downloading blob `{}` failed after {} of {} bytes, and resuming did not help: {}",
                        self.digest,
                        self.offset,
                        self.size,
                        super::client::error_chain(&failure),
                    ),
                };
                return Err(io::Error::other(if failure.kind() == io::ErrorKind::TimedOut {
                    error.with_hint(
                        "on a slow but working link, raise the stall timeout (--stall-timeout SECONDS or \
                         PARE_REGISTRY_STALL_TIMEOUT)",
                    )
                } else {
                    error
                }));
            }
            let attempt = self.client.config().max_attempts.max(1) - self.resumes_left + 1;
            self.resumes_left -= 1;
            tracing::debug!(digest = %self.digest, offset = self.offset, error = %failure, "resuming download");
            Counters::add(&self.client.counters().blob_resumes);
            std::thread::sleep(self.client.backoff(attempt));
            match self.open_at(self.offset) {
                Ok(resp) => self.response = Some(resp),
                // A failure to reconnect is reported by the next turn of the loop, or ends it.
                Err(e) if transient(&e) => tracing::debug!(error = %e, "resuming failed"),
                Err(e) => return Err(io::Error::other(e)),
            }
        }
    }
}
