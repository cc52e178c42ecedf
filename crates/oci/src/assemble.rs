//! Assembling new images and indexes from layers and a config, into a temporary layout that
//! then serves as a [`Source`] like any other.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use oci_spec::image::Descriptor;
use serde_json::{Value, json};

use crate::digest::sha256;
use crate::image::{Root, Source};
use crate::layer_writer::{LayerEntry, LayerOptions, WrittenLayer, write_layer};
use crate::layout::{LayoutSink, LayoutSource, blob_path};
use crate::media;
use crate::platform::Platform;
use crate::sink::Sink;
use crate::{Error, Result, canonical_json};

/// The runtime settings of an image config (`config` in the OCI config JSON).
#[derive(Clone, Debug, Default)]
pub struct RuntimeConfig {
    pub user: Option<String>,
    pub env: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
}

/// One image to assemble.
#[derive(Clone, Debug)]
pub struct ImageSpec {
    pub platform: Platform,
    pub runtime: RuntimeConfig,
    /// Creation time, seconds since the epoch (also the default layer mtime).
    pub created: u64,
    pub annotations: BTreeMap<String, String>,
}

/// RFC 3339 UTC time for an epoch second (`2023-11-14T22:13:20Z`).
pub fn rfc3339(epoch: u64) -> String {
    i64::try_from(epoch)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| "1970-01-01T00:00:00Z".to_string(), |t| t.to_string())
}

/// A temporary OCI layout that images are assembled into.
pub struct Assembler {
    dir: tempfile::TempDir,
    in_use: Option<crate::sweep::InUse>,
    sink: LayoutSink,
}

impl Assembler {
    pub fn new() -> Result<Assembler> {
        crate::sweep::sweep(&std::env::temp_dir(), |n| n.starts_with("pare-assemble-"));
        let dir =
            tempfile::Builder::new().prefix("pare-assemble-").tempdir().map_err(Error::io(std::env::temp_dir()))?;
        let in_use = crate::sweep::hold(dir.path());
        let sink = LayoutSink::create(dir.path(), None)?;
        Ok(Assembler { dir, in_use, sink })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a layer from entries into the layout.
    pub fn add_layer(&mut self, entries: Vec<LayerEntry>, options: &LayerOptions) -> Result<WrittenLayer> {
        let tmp = tempfile::NamedTempFile::new_in(self.dir.path()).map_err(Error::io(self.dir.path()))?;
        let written = write_layer(entries, options, std::io::BufWriter::new(tmp.as_file()))?;
        let path = blob_path(self.dir.path(), &written.digest);
        tmp.persist(&path).map_err(|e| Error::Io { path, source: e.error })?;
        Ok(written)
    }

    /// Writes the config and manifest of an image whose layers were added with [`Assembler::add_layer`]
    /// (or are otherwise in the layout), bottom layer first.
    pub fn add_image(&mut self, spec: &ImageSpec, layers: &[WrittenLayer]) -> Result<Descriptor> {
        let created = rfc3339(spec.created);
        let mut runtime = serde_json::Map::new();
        let rc = &spec.runtime;
        if let Some(user) = &rc.user {
            runtime.insert("User".into(), json!(user));
        }
        if !rc.env.is_empty() {
            runtime.insert("Env".into(), json!(rc.env));
        }
        if let Some(ep) = &rc.entrypoint {
            runtime.insert("Entrypoint".into(), json!(ep));
        }
        if let Some(cmd) = &rc.cmd {
            runtime.insert("Cmd".into(), json!(cmd));
        }
        if let Some(wd) = &rc.working_dir {
            runtime.insert("WorkingDir".into(), json!(wd));
        }
        if !rc.labels.is_empty() {
            runtime.insert("Labels".into(), json!(rc.labels));
        }
        if let Some(sig) = &rc.stop_signal {
            runtime.insert("StopSignal".into(), json!(sig));
        }
        let mut config = json!({
            "created": created,
            "architecture": spec.platform.architecture,
            "os": spec.platform.os,
            "config": Value::Object(runtime),
            "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>() },
            "history": layers.iter().map(|_| json!({"created": created, "created_by": "pare"})).collect::<Vec<_>>(),
        });
        if let Some(variant) = &spec.platform.variant {
            config["variant"] = json!(variant);
        }
        let config_bytes = canonical_json(&config);
        let config_desc = Descriptor::new(media::OCI_CONFIG.into(), config_bytes.len() as u64, sha256(&config_bytes));
        self.sink.put_manifest(&config_desc, &config_bytes)?;

        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": descriptor_json(&config_desc),
            "layers": layers.iter().map(|l| descriptor_json(&l.descriptor())).collect::<Vec<_>>(),
        });
        if !spec.annotations.is_empty() {
            manifest["annotations"] = json!(spec.annotations);
        }
        let bytes = canonical_json(&manifest);
        let mut desc = Descriptor::new(media::OCI_MANIFEST.into(), bytes.len() as u64, sha256(&bytes));
        self.sink.put_manifest(&desc, &bytes)?;
        let oci_platform = oci_spec::image::PlatformBuilder::default()
            .os(spec.platform.os.as_str())
            .architecture(spec.platform.architecture.as_str());
        let oci_platform = match &spec.platform.variant {
            Some(v) => oci_platform.variant(v.clone()),
            None => oci_platform,
        };
        if let Ok(p) = oci_platform.build() {
            desc.set_platform(Some(p));
        }
        Ok(desc)
    }

    /// Writes an index over images already added.
    pub fn add_index(
        &mut self,
        manifests: &[Descriptor],
        annotations: &BTreeMap<String, String>,
    ) -> Result<Descriptor> {
        let mut index = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_INDEX,
            "manifests": manifests.iter().map(descriptor_json).collect::<Vec<_>>(),
        });
        if !annotations.is_empty() {
            index["annotations"] = json!(annotations);
        }
        let bytes = canonical_json(&index);
        let desc = Descriptor::new(media::OCI_INDEX.into(), bytes.len() as u64, sha256(&bytes));
        self.sink.put_manifest(&desc, &bytes)?;
        Ok(desc)
    }

    /// Finishes the layout with `root` as its only entry and returns it as a source.
    pub fn finish(self, root: &Descriptor) -> Result<Arc<AssembledSource>> {
        let Assembler { dir, in_use, mut sink } = self;
        sink.set_root(root)?;
        Box::new(sink).finish()?;
        let layout = LayoutSource::new(dir.path(), None);
        Ok(Arc::new(AssembledSource { layout, _in_use: in_use, _dir: dir }))
    }
}

/// Descriptor JSON without empty optional fields, keys sorted by [`canonical_json`].
pub fn descriptor_json(desc: &Descriptor) -> Value {
    serde_json::to_value(desc).unwrap_or(Value::Null)
}

/// A freshly assembled image, kept in a temporary layout until dropped.
pub struct AssembledSource {
    layout: LayoutSource,
    // Dropped before the directory is removed (fields drop in order).
    _in_use: Option<crate::sweep::InUse>,
    _dir: tempfile::TempDir,
}

impl AssembledSource {
    pub fn open(self: &Arc<Self>) -> Result<Root> {
        Root::open(self.clone())
    }
}

impl Source for AssembledSource {
    fn location(&self) -> String {
        "(assembled image)".into()
    }
    fn root(&self) -> Result<Descriptor> {
        self.layout.root()
    }
    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn std::io::Read + Send>> {
        self.layout.open_raw(desc)
    }
    fn blob_present(&self, desc: &Descriptor) -> bool {
        self.layout.blob_present(desc)
    }
}
