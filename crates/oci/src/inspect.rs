//! What `pare inspect` reports about an image or an index, as a type: its JSON is `--format json`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Image, ManifestKind, Platform, Result, Root};

/// An image location's root and the images looked at.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    pub location: String,
    /// The root's digest (an index's or an image manifest's).
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    /// An index's platforms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
    pub images: Vec<ImageReport>,
}

/// One image: manifest, config and layers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReport {
    pub platform: String,
    pub manifest_digest: String,
    pub media_type: String,
    pub config_digest: String,
    pub created: Option<String>,
    pub author: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub env: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub exposed_ports: Option<Vec<String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    /// Compressed size of all layers.
    pub total_size: u64,
    pub layers: Vec<LayerReport>,
    pub history: Vec<HistoryReport>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerReport {
    pub digest: String,
    pub diff_id: Option<String>,
    pub media_type: String,
    pub size: u64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReport {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub empty_layer: bool,
}

/// Which images of an index to report.
#[derive(Clone, Debug, Default)]
pub enum InspectImages {
    /// The image for this machine's platform (or the only one).
    #[default]
    Default,
    /// The image for a platform.
    Platform(Platform),
    /// Every image entry of the index (entries that are not images, such as attached artifacts, are left out).
    All,
}

impl InspectReport {
    /// Reports `root` (opened from `location`) and the images `which` selects.
    pub fn of(root: &Root, location: &str, which: &InspectImages) -> Result<InspectReport> {
        let desc = root.descriptor();
        let (platforms, images) = match root {
            Root::Image(image) => (None, vec![image.clone()]),
            Root::Index(index) => {
                let platforms = Some(index.platforms().iter().map(ToString::to_string).collect());
                let images = match which {
                    InspectImages::Default => vec![index.select(None)?],
                    InspectImages::Platform(p) => vec![index.select(Some(p))?],
                    InspectImages::All => {
                        let mut images = Vec::new();
                        for d in index.manifests() {
                            if ManifestKind::of(d.media_type().as_ref()) != Some(ManifestKind::Image) {
                                continue;
                            }
                            // A broken image is an error, not a silent omission.
                            if let Root::Image(image) = index.open(d)? {
                                images.push(image);
                            }
                        }
                        images
                    }
                };
                (platforms, images)
            }
        };
        Ok(InspectReport {
            location: location.to_string(),
            digest: desc.digest().to_string(),
            media_type: desc.media_type().to_string(),
            size: desc.size(),
            platforms,
            images: images.iter().map(ImageReport::of).collect::<Result<_>>()?,
        })
    }
}

impl ImageReport {
    pub fn of(image: &Image) -> Result<ImageReport> {
        let config = image.config()?;
        let layers = image.layers()?;
        let runtime = config.config().clone().unwrap_or_default();
        let sorted = |m: &Option<std::collections::HashMap<String, String>>| {
            m.as_ref().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_, _>>())
        };
        Ok(ImageReport {
            platform: image.platform()?.to_string(),
            manifest_digest: image.digest().to_string(),
            media_type: image.descriptor().media_type().to_string(),
            config_digest: image.manifest().config().digest().to_string(),
            created: config.created().clone(),
            author: config.author().clone(),
            user: runtime.user().clone(),
            entrypoint: runtime.entrypoint().clone(),
            cmd: runtime.cmd().clone(),
            working_dir: runtime.working_dir().clone(),
            env: runtime.env().clone(),
            labels: sorted(runtime.labels()),
            exposed_ports: runtime.exposed_ports().clone(),
            annotations: sorted(image.manifest().annotations()),
            total_size: layers.iter().map(|l| l.size()).sum(),
            layers: layers
                .iter()
                .map(|l| LayerReport {
                    digest: l.digest().to_string(),
                    diff_id: l.diff_id().map(ToString::to_string),
                    media_type: l.media_type().to_string(),
                    size: l.size(),
                })
                .collect(),
            history: config
                .history()
                .iter()
                .flatten()
                .map(|h| HistoryReport {
                    created: h.created().clone(),
                    created_by: h.created_by().clone(),
                    comment: h.comment().clone(),
                    empty_layer: h.empty_layer().unwrap_or(false),
                })
                .collect(),
        })
    }
}
