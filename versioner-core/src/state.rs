//! "What is deployed where": the state matrix, now or as of any past instant, and drift.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Deployment, EnvironmentType};
use crate::status::Status;

/// A version in an environment, with who put it there and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeployedVersion {
    /// The deployment's public id.
    pub deployment_id: String,
    /// The version.
    pub version: String,
    /// The version's public id.
    pub version_id: String,
    /// The deployment's status.
    pub status: Status,
    /// When it completed (or, in progress, when it started).
    #[serde(with = "crate::wire::instant")]
    pub deployed_at: DateTime<Utc>,
    /// Who deployed it.
    pub deployed_by: Option<String>,
    /// The commit.
    pub scm_sha: Option<String>,
}

impl From<&Deployment> for DeployedVersion {
    fn from(d: &Deployment) -> DeployedVersion {
        DeployedVersion {
            deployment_id: d.id.clone(),
            version: d.version.clone(),
            version_id: d.version_id.clone(),
            status: d.status,
            deployed_at: d.completed_at.or(d.started_at).unwrap_or(d.deployed_at),
            deployed_by: d.fields.deployed_by.clone(),
            scm_sha: d.fields.scm_sha.clone(),
        }
    }
}

/// One product in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct StateCell {
    /// The product.
    pub product_name: String,
    /// The environment.
    pub environment_name: String,
    /// The environment's type.
    pub environment_type: EnvironmentType,
    /// The version last deployed successfully (as of the matrix's instant).
    pub current: Option<DeployedVersion>,
    /// Deployments in progress (as of the matrix's instant).
    pub in_progress: Vec<DeployedVersion>,
    /// The newest attempt, when it failed or was aborted (as of the matrix's instant): the
    /// environment still runs `current`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failed: Option<DeployedVersion>,
}

/// Every product × environment that has had a deployment.
///
/// # Examples
/// ```
/// use versioner_core::{DeploymentEvent, Versioner};
/// let vr = Versioner::open_in_memory()?;
/// vr.track_deployment(&DeploymentEvent::new("api", "1.2.0", "staging", "completed"))?;
/// vr.track_deployment(&DeploymentEvent::new("api", "1.3.0", "staging", "started"))?;
/// let state = vr.state(None)?;
/// let cell = state.cell("api", "staging").unwrap();
/// assert_eq!(cell.current.as_ref().unwrap().version, "1.2.0");
/// assert_eq!(cell.in_progress[0].version, "1.3.0");
/// # Ok::<(), versioner_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct StateMatrix {
    /// The instant described (`None`: now).
    #[serde(with = "crate::wire::instant::option")]
    pub at: Option<DateTime<Utc>>,
    /// Product names, sorted.
    pub products: Vec<String>,
    /// Environment names, ordered from development to production.
    pub environments: Vec<String>,
    /// The cells, by product then environment.
    pub cells: Vec<StateCell>,
}

impl StateMatrix {
    /// The cell of `product` in `environment`.
    pub fn cell(&self, product: &str, environment: &str) -> Option<&StateCell> {
        self.cells
            .iter()
            .find(|c| c.product_name == product && c.environment_name == environment)
    }

    /// The version of `product` current in `environment`.
    pub fn version(&self, product: &str, environment: &str) -> Option<&str> {
        self.cell(product, environment)
            .and_then(|c| c.current.as_ref())
            .map(|d| d.version.as_str())
    }

    /// A plain-text table: products as rows, environments as columns; `*` marks a deployment
    /// in progress, `-` no successful deployment.
    pub fn to_table(&self) -> String {
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut header = vec!["PRODUCT".to_string()];
        header.extend(self.environments.iter().cloned());
        rows.push(header);
        for p in &self.products {
            let mut row = vec![p.clone()];
            for e in &self.environments {
                let cell = self.cell(p, e);
                let mut text = cell
                    .and_then(|c| c.current.as_ref())
                    .map_or_else(|| "-".to_string(), |d| d.version.clone());
                if let Some(c) = cell
                    && let Some(ip) = c.in_progress.last()
                {
                    text = format!("{text} (*{})", ip.version);
                }
                row.push(text);
            }
            rows.push(row);
        }
        let cols = rows.first().map_or(0, Vec::len);
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                rows.iter()
                    .filter_map(|r| r.get(i))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(s, w)| format!("{s:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }

    /// Products whose environments hold different versions.
    pub fn drift(&self) -> Vec<Drift> {
        let mut by_product: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
        for c in &self.cells {
            if let Some(d) = &c.current {
                by_product
                    .entry(&c.product_name)
                    .or_default()
                    .insert(c.environment_name.clone(), d.version.clone());
            }
        }
        by_product
            .into_iter()
            .filter_map(|(p, versions)| {
                let mut distinct: Vec<&String> = versions.values().collect();
                distinct.sort();
                distinct.dedup();
                (distinct.len() > 1).then(|| Drift {
                    product_name: p.to_string(),
                    distinct_versions: distinct.len(),
                    versions: versions.clone(),
                })
            })
            .collect()
    }
}

/// A product whose environments hold different versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Drift {
    /// The product.
    pub product_name: String,
    /// Environment → version.
    pub versions: BTreeMap<String, String>,
    /// How many different versions.
    pub distinct_versions: usize,
}
