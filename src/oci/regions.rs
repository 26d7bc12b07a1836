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
    const fn new(id: &'static str, key: &'static str, realm: &'static str) -> Self {
        Region { id, key, realm }
    }

    /// The realm's second-level domain (`oraclecloud.com` for oc1).
    pub fn domain(&self) -> &'static str {
        realm_domain(self.realm).unwrap_or("oraclecloud.com")
    }
}

/// Every region, sorted by id.
pub const REGIONS: &[Region] = &[
    Region::new("af-casablanca-1", "lej", "oc1"),
    Region::new("af-johannesburg-1", "jnb", "oc1"),
    Region::new("ap-batam-1", "hsg", "oc1"),
    Region::new("ap-chiyoda-1", "nja", "oc8"),
    Region::new("ap-chuncheon-1", "yny", "oc1"),
    Region::new("ap-chuncheon-2", "bno", "oc35"),
    Region::new("ap-dcc-canberra-1", "wga", "oc10"),
    Region::new("ap-dcc-gazipur-1", "dac", "oc15"),
    Region::new("ap-delhi-1", "onm", "oc1"),
    Region::new("ap-hyderabad-1", "hyd", "oc1"),
    Region::new("ap-ibaraki-1", "ukb", "oc8"),
    Region::new("ap-kulai-2", "jbp", "oc1"),
    Region::new("ap-melbourne-1", "mel", "oc1"),
    Region::new("ap-mumbai-1", "bom", "oc1"),
    Region::new("ap-osaka-1", "kix", "oc1"),
    Region::new("ap-seoul-1", "icn", "oc1"),
    Region::new("ap-seoul-2", "dtz", "oc35"),
    Region::new("ap-singapore-1", "sin", "oc1"),
    Region::new("ap-singapore-2", "xsp", "oc1"),
    Region::new("ap-suwon-1", "dln", "oc35"),
    Region::new("ap-sydney-1", "syd", "oc1"),
    Region::new("ap-tokyo-1", "nrt", "oc1"),
    Region::new("ca-montreal-1", "yul", "oc1"),
    Region::new("ca-toronto-1", "yyz", "oc1"),
    Region::new("eu-amsterdam-1", "ams", "oc1"),
    Region::new("eu-budapest-1", "jsk", "oc51"),
    Region::new("eu-crissier-1", "avf", "oc24"),
    Region::new("eu-dcc-dublin-1", "ork", "oc14"),
    Region::new("eu-dcc-dublin-2", "snn", "oc14"),
    Region::new("eu-dcc-milan-1", "bgy", "oc14"),
    Region::new("eu-dcc-milan-2", "mxp", "oc14"),
    Region::new("eu-dcc-rating-1", "dus", "oc14"),
    Region::new("eu-dcc-rating-2", "dtm", "oc14"),
    Region::new("eu-dcc-zurich-1", "avz", "oc24"),
    Region::new("eu-frankfurt-1", "fra", "oc1"),
    Region::new("eu-frankfurt-2", "str", "oc19"),
    Region::new("eu-jovanovac-1", "beg", "oc20"),
    Region::new("eu-madrid-1", "mad", "oc1"),
    Region::new("eu-madrid-2", "vll", "oc19"),
    Region::new("eu-madrid-3", "orf", "oc1"),
    Region::new("eu-marseille-1", "mrs", "oc1"),
    Region::new("eu-milan-1", "lin", "oc1"),
    Region::new("eu-paris-1", "cdg", "oc1"),
    Region::new("eu-stockholm-1", "arn", "oc1"),
    Region::new("eu-turin-1", "nrq", "oc1"),
    Region::new("eu-zurich-1", "zrh", "oc1"),
    Region::new("il-jerusalem-1", "mtz", "oc1"),
    Region::new("me-abudhabi-1", "auh", "oc1"),
    Region::new("me-abudhabi-2", "rkt", "oc29"),
    Region::new("me-abudhabi-3", "ahu", "oc26"),
    Region::new("me-abudhabi-4", "shj", "oc29"),
    Region::new("me-alain-1", "rba", "oc26"),
    Region::new("me-alrayyan-1", "vve", "oc21"),
    Region::new("me-dcc-doha-1", "doh", "oc21"),
    Region::new("me-dcc-muscat-1", "mct", "oc9"),
    Region::new("me-dubai-1", "dxb", "oc1"),
    Region::new("me-ibri-1", "ibr", "oc9"),
    Region::new("me-jeddah-1", "jed", "oc1"),
    Region::new("me-riyadh-1", "ruh", "oc1"),
    Region::new("mx-monterrey-1", "mty", "oc1"),
    Region::new("mx-queretaro-1", "qro", "oc1"),
    Region::new("sa-bogota-1", "bog", "oc1"),
    Region::new("sa-riodejaneiro-1", "hnw", "oc52"),
    Region::new("sa-santiago-1", "scl", "oc1"),
    Region::new("sa-saopaulo-1", "gru", "oc1"),
    Region::new("sa-valparaiso-1", "vap", "oc1"),
    Region::new("sa-vinhedo-1", "vcp", "oc1"),
    Region::new("uk-cardiff-1", "cwl", "oc1"),
    Region::new("uk-gov-cardiff-1", "brs", "oc4"),
    Region::new("uk-gov-london-1", "ltn", "oc4"),
    Region::new("uk-london-1", "lhr", "oc1"),
    Region::new("us-ashburn-1", "iad", "oc1"),
    Region::new("us-ashburn-2", "yxj", "oc42"),
    Region::new("us-chicago-1", "ord", "oc1"),
    Region::new("us-gov-ashburn-1", "ric", "oc3"),
    Region::new("us-gov-chicago-1", "pia", "oc3"),
    Region::new("us-gov-phoenix-1", "tus", "oc3"),
    Region::new("us-langley-1", "lfi", "oc2"),
    Region::new("us-luke-1", "luf", "oc2"),
    Region::new("us-newark-1", "pgc", "oc42"),
    Region::new("us-phoenix-1", "phx", "oc1"),
    Region::new("us-saltlake-2", "aga", "oc1"),
    Region::new("us-sanjose-1", "sjc", "oc1"),
    Region::new("us-somerset-1", "ebb", "oc23"),
    Region::new("us-thames-1", "ebl", "oc23"),
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
