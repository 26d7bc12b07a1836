//! The OCI regions drctl knows: region id, the short key used in OCIR hosts, and the realm
//! with its domain. Data only, copied from Oracle's SDK 2.189.0 region list; lookups that
//! interpret it (endpoints, OCIR hosts) live in `endpoints.rs`.

/// One region: id (`us-ashburn-1`), key (`iad`), realm (`oc1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub id: &'static str,
    pub key: &'static str,
    pub realm: &'static str,
}

impl Region {
    /// The realm's second-level domain (`oraclecloud.com` for oc1).
    pub fn domain(&self) -> &'static str {
        realm_domain(self.realm).unwrap_or("oraclecloud.com")
    }
}

/// Every region, sorted by id.
pub const REGIONS: &[Region] = &[
    Region { id: "af-casablanca-1", key: "lej", realm: "oc1" },
    Region { id: "af-johannesburg-1", key: "jnb", realm: "oc1" },
    Region { id: "ap-batam-1", key: "hsg", realm: "oc1" },
    Region { id: "ap-chiyoda-1", key: "nja", realm: "oc8" },
    Region { id: "ap-chuncheon-1", key: "yny", realm: "oc1" },
    Region { id: "ap-chuncheon-2", key: "bno", realm: "oc35" },
    Region { id: "ap-dcc-canberra-1", key: "wga", realm: "oc10" },
    Region { id: "ap-dcc-gazipur-1", key: "dac", realm: "oc15" },
    Region { id: "ap-delhi-1", key: "onm", realm: "oc1" },
    Region { id: "ap-hyderabad-1", key: "hyd", realm: "oc1" },
    Region { id: "ap-ibaraki-1", key: "ukb", realm: "oc8" },
    Region { id: "ap-kulai-2", key: "jbp", realm: "oc1" },
    Region { id: "ap-melbourne-1", key: "mel", realm: "oc1" },
    Region { id: "ap-mumbai-1", key: "bom", realm: "oc1" },
    Region { id: "ap-osaka-1", key: "kix", realm: "oc1" },
    Region { id: "ap-seoul-1", key: "icn", realm: "oc1" },
    Region { id: "ap-seoul-2", key: "dtz", realm: "oc35" },
    Region { id: "ap-singapore-1", key: "sin", realm: "oc1" },
    Region { id: "ap-singapore-2", key: "xsp", realm: "oc1" },
    Region { id: "ap-suwon-1", key: "dln", realm: "oc35" },
    Region { id: "ap-sydney-1", key: "syd", realm: "oc1" },
    Region { id: "ap-tokyo-1", key: "nrt", realm: "oc1" },
    Region { id: "ca-montreal-1", key: "yul", realm: "oc1" },
    Region { id: "ca-toronto-1", key: "yyz", realm: "oc1" },
    Region { id: "eu-amsterdam-1", key: "ams", realm: "oc1" },
    Region { id: "eu-budapest-1", key: "jsk", realm: "oc51" },
    Region { id: "eu-crissier-1", key: "avf", realm: "oc24" },
    Region { id: "eu-dcc-dublin-1", key: "ork", realm: "oc14" },
    Region { id: "eu-dcc-dublin-2", key: "snn", realm: "oc14" },
    Region { id: "eu-dcc-milan-1", key: "bgy", realm: "oc14" },
    Region { id: "eu-dcc-milan-2", key: "mxp", realm: "oc14" },
    Region { id: "eu-dcc-rating-1", key: "dus", realm: "oc14" },
    Region { id: "eu-dcc-rating-2", key: "dtm", realm: "oc14" },
    Region { id: "eu-dcc-zurich-1", key: "avz", realm: "oc24" },
    Region { id: "eu-frankfurt-1", key: "fra", realm: "oc1" },
    Region { id: "eu-frankfurt-2", key: "str", realm: "oc19" },
    Region { id: "eu-jovanovac-1", key: "beg", realm: "oc20" },
    Region { id: "eu-madrid-1", key: "mad", realm: "oc1" },
    Region { id: "eu-madrid-2", key: "vll", realm: "oc19" },
    Region { id: "eu-madrid-3", key: "orf", realm: "oc1" },
    Region { id: "eu-marseille-1", key: "mrs", realm: "oc1" },
    Region { id: "eu-milan-1", key: "lin", realm: "oc1" },
    Region { id: "eu-paris-1", key: "cdg", realm: "oc1" },
    Region { id: "eu-stockholm-1", key: "arn", realm: "oc1" },
    Region { id: "eu-turin-1", key: "nrq", realm: "oc1" },
    Region { id: "eu-zurich-1", key: "zrh", realm: "oc1" },
    Region { id: "il-jerusalem-1", key: "mtz", realm: "oc1" },
    Region { id: "me-abudhabi-1", key: "auh", realm: "oc1" },
    Region { id: "me-abudhabi-2", key: "rkt", realm: "oc29" },
    Region { id: "me-abudhabi-3", key: "ahu", realm: "oc26" },
    Region { id: "me-abudhabi-4", key: "shj", realm: "oc29" },
    Region { id: "me-alain-1", key: "rba", realm: "oc26" },
    Region { id: "me-alrayyan-1", key: "vve", realm: "oc21" },
    Region { id: "me-dcc-doha-1", key: "doh", realm: "oc21" },
    Region { id: "me-dcc-muscat-1", key: "mct", realm: "oc9" },
    Region { id: "me-dubai-1", key: "dxb", realm: "oc1" },
    Region { id: "me-ibri-1", key: "ibr", realm: "oc9" },
    Region { id: "me-jeddah-1", key: "jed", realm: "oc1" },
    Region { id: "me-riyadh-1", key: "ruh", realm: "oc1" },
    Region { id: "mx-monterrey-1", key: "mty", realm: "oc1" },
    Region { id: "mx-queretaro-1", key: "qro", realm: "oc1" },
    Region { id: "sa-bogota-1", key: "bog", realm: "oc1" },
    Region { id: "sa-riodejaneiro-1", key: "hnw", realm: "oc52" },
    Region { id: "sa-santiago-1", key: "scl", realm: "oc1" },
    Region { id: "sa-saopaulo-1", key: "gru", realm: "oc1" },
    Region { id: "sa-valparaiso-1", key: "vap", realm: "oc1" },
    Region { id: "sa-vinhedo-1", key: "vcp", realm: "oc1" },
    Region { id: "uk-cardiff-1", key: "cwl", realm: "oc1" },
    Region { id: "uk-gov-cardiff-1", key: "brs", realm: "oc4" },
    Region { id: "uk-gov-london-1", key: "ltn", realm: "oc4" },
    Region { id: "uk-london-1", key: "lhr", realm: "oc1" },
    Region { id: "us-ashburn-1", key: "iad", realm: "oc1" },
    Region { id: "us-ashburn-2", key: "yxj", realm: "oc42" },
    Region { id: "us-chicago-1", key: "ord", realm: "oc1" },
    Region { id: "us-gov-ashburn-1", key: "ric", realm: "oc3" },
    Region { id: "us-gov-chicago-1", key: "pia", realm: "oc3" },
    Region { id: "us-gov-phoenix-1", key: "tus", realm: "oc3" },
    Region { id: "us-langley-1", key: "lfi", realm: "oc2" },
    Region { id: "us-luke-1", key: "luf", realm: "oc2" },
    Region { id: "us-newark-1", key: "pgc", realm: "oc42" },
    Region { id: "us-phoenix-1", key: "phx", realm: "oc1" },
    Region { id: "us-saltlake-2", key: "aga", realm: "oc1" },
    Region { id: "us-sanjose-1", key: "sjc", realm: "oc1" },
    Region { id: "us-somerset-1", key: "ebb", realm: "oc23" },
    Region { id: "us-thames-1", key: "ebl", realm: "oc23" },
];

/// Realm id to second-level domain.
pub const REALM_DOMAINS: &[(&str, &str)] = &[
    ("oc1", "oraclecloud.com"),
    ("oc2", "oraclegovcloud.com"),
    ("oc3", "oraclegovcloud.com"),
    ("oc4", "oraclegovcloud.uk"),
    ("oc8", "oraclecloud8.com"),
    ("oc9", "oraclecloud9.com"),
    ("oc10", "oraclecloud10.com"),
    ("oc14", "oraclecloud14.com"),
    ("oc15", "oraclecloud15.com"),
    ("oc19", "oraclecloud.eu"),
    ("oc20", "oraclecloud20.com"),
    ("oc21", "oraclecloud21.com"),
    ("oc23", "oraclecloud23.com"),
    ("oc24", "oraclecloud24.com"),
    ("oc26", "oraclecloud26.com"),
    ("oc29", "oraclecloud29.com"),
    ("oc35", "oraclecloud35.com"),
    ("oc42", "oraclecloud42.com"),
    ("oc51", "oraclecloud51.com"),
    ("oc52", "oraclecloud52.com"),
];

/// Finds a region by id (`us-ashburn-1`) or key (`iad`, any case), as the SDK accepts both.
pub fn find_region(id_or_key: &str) -> Option<&'static Region> {
    let wanted = id_or_key.trim().to_ascii_lowercase();
    REGIONS.iter().find(|r| r.id == wanted || r.key == wanted)
}

/// The second-level domain of a realm.
pub fn realm_domain(realm: &str) -> Option<&'static str> {
    REALM_DOMAINS.iter().find(|(r, _)| *r == realm).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keys_and_realms_resolve() {
        assert_eq!(REGIONS.len(), 85);
        let iad = find_region("us-ashburn-1").unwrap();
        assert_eq!((iad.key, iad.realm, iad.domain()), ("iad", "oc1", "oraclecloud.com"));
        assert_eq!(find_region("IAD").unwrap().id, "us-ashburn-1");
        assert_eq!(find_region("eu-frankfurt-2").unwrap().domain(), "oraclecloud.eu");
        assert_eq!(find_region("uk-gov-london-1").unwrap().domain(), "oraclegovcloud.uk");
        assert!(find_region("mars-olympus-1").is_none());
    }

    #[test]
    fn every_realm_has_a_domain_and_keys_are_unique() {
        let mut keys: Vec<&str> = REGIONS.iter().map(|r| r.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), REGIONS.len());
        for r in REGIONS {
            assert!(realm_domain(r.realm).is_some(), "{}", r.id);
        }
    }
}
