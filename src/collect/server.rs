//! Server identity and the settings the rules read (`sql/server.sql`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::CollectError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    /// `server_version_num` (150004).
    pub version_num: i32,
    /// `server_version` (`15.4 (Debian 15.4-1)`).
    pub version: String,
    pub in_recovery: bool,
    pub database: String,
    pub role: String,
    /// pg_monitor or superuser: sees every session.
    pub can_monitor: bool,
    pub settings: BTreeMap<String, Setting>,
}

/// One `pg_settings` row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Setting {
    pub setting: String,
    pub unit: Option<String>,
    pub source: String,
}

impl Server {
    /// A setting's raw value.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(|s| s.setting.as_str())
    }

    /// A numeric setting.
    pub fn setting_f64(&self, name: &str) -> Option<f64> {
        self.setting(name)?.trim().parse().ok()
    }

    /// A setting as PostgreSQL shows it (`4MB`, `0`), with its unit applied.
    pub fn setting_display(&self, name: &str) -> Option<String> {
        let s = self.settings.get(name)?;
        let Some(unit) = s.unit.as_deref() else {
            return Some(s.setting.clone());
        };
        let v: f64 = match s.setting.parse() {
            Ok(v) => v,
            Err(_) => return Some(s.setting.clone()),
        };
        if v == 0.0 {
            return Some("0".into());
        }
        Some(match unit {
            "kB" | "8kB" | "MB" => {
                let kb = v * match unit {
                    "8kB" => 8.0,
                    "MB" => 1024.0,
                    _ => 1.0,
                };
                human_kb(kb)
            }
            "ms" if v >= 1000.0 && (v % 1000.0) == 0.0 => format!("{}s", v / 1000.0),
            u => format!("{}{u}", s.setting),
        })
    }
}

fn human_kb(kb: f64) -> String {
    if kb >= 1024.0 * 1024.0 && (kb % (1024.0 * 1024.0)) == 0.0 {
        format!("{}GB", kb / 1024.0 / 1024.0)
    } else if kb >= 1024.0 && (kb % 1024.0) == 0.0 {
        format!("{}MB", kb / 1024.0)
    } else {
        format!("{kb}kB")
    }
}

pub async fn collect(client: &Client) -> Result<Server, CollectError> {
    let row = client
        .query_one(include_str!("sql/server.sql"), &[])
        .await
        .map_err(|e| CollectError::new("server settings", e))?;
    let settings_json: Option<serde_json::Value> = row.get("settings");
    let mut settings = BTreeMap::new();
    if let Some(serde_json::Value::Object(m)) = settings_json {
        for (k, v) in m {
            settings.insert(
                k,
                Setting {
                    setting: v["setting"].as_str().unwrap_or_default().to_string(),
                    unit: v["unit"].as_str().map(str::to_string),
                    source: v["source"].as_str().unwrap_or_default().to_string(),
                },
            );
        }
    }
    Ok(Server {
        version_num: row.get("version_num"),
        version: row.get("version"),
        in_recovery: row.get("in_recovery"),
        database: row.get("database"),
        role: row.get("role"),
        can_monitor: row.get::<_, Option<bool>>("can_monitor").unwrap_or(false),
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_units() {
        let mut s = Server::default();
        let set = |v: &str, u: Option<&str>| Setting {
            setting: v.into(),
            unit: u.map(str::to_string),
            source: "default".into(),
        };
        s.settings
            .insert("work_mem".into(), set("4096", Some("kB")));
        s.settings
            .insert("shared_buffers".into(), set("16384", Some("8kB")));
        s.settings.insert(
            "idle_in_transaction_session_timeout".into(),
            set("0", Some("ms")),
        );
        s.settings
            .insert("lock_timeout".into(), set("5000", Some("ms")));
        assert_eq!(s.setting_display("work_mem").unwrap(), "4MB");
        assert_eq!(s.setting_display("shared_buffers").unwrap(), "128MB");
        assert_eq!(
            s.setting_display("idle_in_transaction_session_timeout")
                .unwrap(),
            "0"
        );
        assert_eq!(s.setting_display("lock_timeout").unwrap(), "5s");
        assert_eq!(s.setting_f64("work_mem"), Some(4096.0));
    }
}
