//! Core networking (`/20160918`): VCNs, subnets, route tables, security lists, network
//! security groups with their rules, service gateways, NAT and internet gateways, and the
//! region's Oracle Services Network services. Creates are synchronous and go
//! PROVISIONING→AVAILABLE; a VCN cannot be deleted while anything still lives in it.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::sim::call::{json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::ocid::{new_ocid, region_key, unique};
use crate::sim::resource::{self, names, refuse_if_used, require_active, Kind, ListShape, Prepare, BASE, CORE};
use crate::sim::store::{now_ms, rfc3339, Resource, Store};

const V: &str = "/20160918";

/// Kinds that live inside a VCN (and block its deletion).
const VCN_CHILDREN: [&str; 8] = [
    "core.subnet",
    "core.dhcpoptions",
    "core.routetable",
    "core.securitylist",
    "core.networksecuritygroup",
    "core.servicegateway",
    "core.natgateway",
    "core.internetgateway",
];

pub static VCN: Kind = Kind {
    name: "core.vcn",
    ocid_type: "vcn",
    lifecycle: CORE,
    prepare: prepare_vcn,
    before_delete: Some(vcn_is_empty),
    companions: Some(vcn_defaults),
    ..BASE
};
pub static DHCP_OPTIONS: Kind = Kind {
    name: "core.dhcpoptions",
    ocid_type: "dhcpoptions",
    lifecycle: CORE,
    prepare: in_vcn,
    before_delete: Some(not_a_default),
    ..BASE
};
pub static SUBNET: Kind = Kind {
    name: "core.subnet",
    ocid_type: "subnet",
    lifecycle: CORE,
    prepare: prepare_subnet,
    before_delete: Some(subnet_unused),
    ..BASE
};
pub static ROUTE_TABLE: Kind = Kind {
    name: "core.routetable",
    ocid_type: "routetable",
    lifecycle: CORE,
    prepare: prepare_route_table,
    before_delete: Some(|store, r| {
        not_a_default(store, r)?;
        refuse_if_used(store, r, SUBNET.name, |subnet, id| names(subnet, "routeTableId", id))
    }),
    ..BASE
};
pub static SECURITY_LIST: Kind = Kind {
    name: "core.securitylist",
    ocid_type: "securitylist",
    lifecycle: CORE,
    prepare: prepare_security_list,
    before_delete: Some(|store, r| {
        not_a_default(store, r)?;
        refuse_if_used(store, r, SUBNET.name, |subnet, id| names(subnet, "securityListIds", id))
    }),
    ..BASE
};
pub static NSG: Kind = Kind {
    name: "core.networksecuritygroup",
    ocid_type: "networksecuritygroup",
    lifecycle: CORE,
    prepare: in_vcn,
    ..BASE
};
pub static SERVICE_GATEWAY: Kind = Kind {
    name: "core.servicegateway",
    ocid_type: "servicegateway",
    lifecycle: CORE,
    prepare: prepare_service_gateway,
    before_delete: Some(not_a_route_target),
    ..BASE
};
pub static NAT_GATEWAY: Kind = Kind {
    name: "core.natgateway",
    ocid_type: "natgateway",
    lifecycle: CORE,
    prepare: prepare_nat_gateway,
    before_delete: Some(not_a_route_target),
    ..BASE
};
pub static INTERNET_GATEWAY: Kind = Kind {
    name: "core.internetgateway",
    ocid_type: "internetgateway",
    lifecycle: CORE,
    prepare: prepare_internet_gateway,
    before_delete: Some(not_a_route_target),
    ..BASE
};

/// The fields of a VCN naming what OCI makes with it, which go with it.
const DEFAULTS: [&str; 3] = ["defaultRouteTableId", "defaultSecurityListId", "defaultDhcpOptionsId"];

fn vcn_is_empty(store: &Store, vcn: &Resource) -> Result<(), ApiError> {
    let defaults: Vec<&str> = DEFAULTS.iter().filter_map(|f| vcn.str_field(f)).collect();
    for kind in VCN_CHILDREN {
        resource::refuse_if_children(store, vcn, kind, "vcnId", &defaults)?;
    }
    Ok(())
}

/// A gateway cannot go while a route rule targets it (`networkEntityId`), as OCI refuses.
fn not_a_route_target(store: &Store, gateway: &Resource) -> Result<(), ApiError> {
    refuse_if_used(store, gateway, ROUTE_TABLE.name, |table, id| {
        table
            .get("routeRules")
            .and_then(Value::as_array)
            .is_some_and(|rules| rules.iter().any(|rule| names(rule, "networkEntityId", id)))
    })
}

/// A subnet cannot go while a Functions application or an API gateway lives in it.
fn subnet_unused(store: &Store, subnet: &Resource) -> Result<(), ApiError> {
    refuse_if_used(store, subnet, "functions.application", |app, id| names(app, "subnetIds", id))?;
    refuse_if_used(store, subnet, "apigateway.gateway", |gateway, id| names(gateway, "subnetId", id))
}

/// A VCN's default route table, security list or DHCP options go only with the VCN.
fn not_a_default(store: &Store, r: &Resource) -> Result<(), ApiError> {
    let Some(vcn) = r.str_field("vcnId").and_then(|id| store.resources.get(id)) else { return Ok(()) };
    if vcn.gone_at_ms.is_none() && DEFAULTS.iter().any(|f| vcn.str_field(f) == Some(r.id.as_str())) {
        return Err(ApiError::conflict(format!(
            "{} {} is the default of VCN {}; it is deleted with the VCN.",
            r.kind, r.id, vcn.id
        )));
    }
    Ok(())
}

/// What OCI creates with a VCN: its default route table (no rules), security list (SSH and
/// ICMP in, everything out) and DHCP options (VCN and Internet resolver, the VCN's domain).
fn vcn_defaults(vcn: &Resource) -> Vec<Resource> {
    let name = vcn.str_field("displayName").unwrap_or_default().to_owned();
    let common = |id: &str, display: String| {
        let mut body = Map::new();
        body.insert("id".into(), json!(id));
        body.insert("vcnId".into(), json!(vcn.id));
        body.insert("compartmentId".into(), vcn.body.get("compartmentId").cloned().unwrap_or(Value::Null));
        body.insert("displayName".into(), json!(display));
        body.insert("lifecycleState".into(), json!("AVAILABLE"));
        body.insert("timeCreated".into(), vcn.body.get("timeCreated").cloned().unwrap_or(Value::Null));
        body.insert("freeformTags".into(), json!({}));
        body.insert("definedTags".into(), json!({}));
        body
    };
    let mut out = Vec::new();
    if let Some(id) = vcn.str_field("defaultRouteTableId") {
        let mut body = common(id, format!("Default Route Table for {name}"));
        body.insert("routeRules".into(), json!([]));
        out.push((ROUTE_TABLE.name, body));
    }
    if let Some(id) = vcn.str_field("defaultSecurityListId") {
        let mut body = common(id, format!("Default Security List for {name}"));
        body.insert(
            "ingressSecurityRules".into(),
            json!([
                { "protocol": "6", "source": "0.0.0.0/0", "sourceType": "CIDR_BLOCK", "isStateless": false,
                  "tcpOptions": { "destinationPortRange": { "min": 22, "max": 22 } } },
                { "protocol": "1", "source": "0.0.0.0/0", "sourceType": "CIDR_BLOCK", "isStateless": false,
                  "icmpOptions": { "type": 3, "code": 4 } },
                { "protocol": "1", "source": vcn.body.get("cidrBlock").cloned().unwrap_or(Value::Null),
                  "sourceType": "CIDR_BLOCK", "isStateless": false, "icmpOptions": { "type": 3 } }
            ]),
        );
        body.insert(
            "egressSecurityRules".into(),
            json!([{ "protocol": "all", "destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK", "isStateless": false }]),
        );
        out.push((SECURITY_LIST.name, body));
    }
    if let Some(id) = vcn.str_field("defaultDhcpOptionsId") {
        let mut body = common(id, format!("Default DHCP Options for {name}"));
        let mut options = vec![json!({ "type": "DomainNameServer", "serverType": "VcnLocalPlusInternet" })];
        if let Some(domain) = vcn.str_field("vcnDomainName") {
            options.push(json!({ "type": "SearchDomain", "searchDomainNames": [domain] }));
        }
        body.insert("options".into(), Value::Array(options));
        body.insert("domainNameType".into(), json!("CUSTOM_DOMAIN"));
        out.push((DHCP_OPTIONS.name, body));
    }
    out.into_iter()
        .map(|(kind, body)| Resource {
            kind: kind.into(),
            region: vcn.region.clone(),
            global: false,
            id: body["id"].as_str().unwrap_or_default().to_owned(),
            etag: crate::sim::ocid::new_etag(),
            seq: 0,
            body: Value::Object(body),
            pending: None,
            gone_at_ms: None,
        })
        .collect()
}

fn prepare_vcn(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_some() {
        return Ok(());
    }
    if let Some(other) = p.body.get("cidrBlock").filter(|v| !v.is_string() && !v.is_null()) {
        return Err(ApiError::invalid(format!(
            "Invalid value for `cidrBlock`: a CIDR block as text is expected, got {other}."
        )));
    }
    if let Some(other) = p.body.get("cidrBlocks").filter(|v| !v.is_array() && !v.is_null()) {
        return Err(ApiError::invalid(format!("cidrBlocks must be a list of CIDR blocks, got {other}.")));
    }
    let blocks: Vec<String> = match (p.str("cidrBlock"), p.body.get("cidrBlocks").and_then(Value::as_array)) {
        (Some(b), _) => vec![b],
        (None, Some(list)) if !list.is_empty() => {
            if let Some(bad) = list.iter().find(|v| !v.is_string()) {
                return Err(ApiError::invalid(format!("cidrBlocks must hold CIDR blocks as text, got {bad}.")));
            }
            list.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        _ => return Err(ApiError::missing("cidrBlock")),
    };
    for block in &blocks {
        let (_, len) = parse_cidr(block)?;
        if !(16..=30).contains(&len) {
            return Err(ApiError::invalid(format!(
                "The VCN CIDR block {block} must have a prefix length from /16 to /30."
            )));
        }
    }
    if let Some(label) = p.str("dnsLabel") {
        check_dns_label(&label, "VCN")?;
    }
    let key = region_key(p.region);
    p.body.insert("cidrBlock".into(), json!(blocks[0]));
    p.body.insert("cidrBlocks".into(), json!(blocks));
    p.body.insert("defaultRouteTableId".into(), json!(new_ocid("routetable", &key)));
    p.body.insert("defaultSecurityListId".into(), json!(new_ocid("securitylist", &key)));
    p.body.insert("defaultDhcpOptionsId".into(), json!(new_ocid("dhcpoptions", &key)));
    if let Some(label) = p.str("dnsLabel") {
        p.body.insert("vcnDomainName".into(), json!(format!("{label}.oraclevcn.com")));
    }
    p.default("displayName", json!(format!("vcn{}", &p.id[p.id.len() - 6..])));
    p.default("ipv6CidrBlocks", json!([]));
    Ok(())
}

/// `a.b.c.d/n` to (address, prefix length); 400 InvalidParameter otherwise.
pub fn parse_cidr(text: &str) -> Result<(u32, u8), ApiError> {
    let bad = || ApiError::invalid(format!("`{text}` is not a valid IPv4 CIDR block."));
    let (addr, len) = text.split_once('/').ok_or_else(bad)?;
    let ip: std::net::Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().ok().filter(|n| *n <= 32).ok_or_else(bad)?;
    Ok((u32::from(ip), len))
}

/// A VCN's or subnet's `dnsLabel`: a letter, then letters and digits, 15 at most.
fn check_dns_label(label: &str, what: &str) -> Result<(), ApiError> {
    let mut chars = label.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
        && label.len() <= 15;
    if valid {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "The {what} dnsLabel `{label}` must start with a letter and hold only letters and digits, 15 at most."
    )))
}

fn contains(outer: (u32, u8), inner: (u32, u8)) -> bool {
    let mask = |len: u8| if len == 0 { 0 } else { u32::MAX << (32 - len) };
    inner.1 >= outer.1 && (inner.0 & mask(outer.1)) == (outer.0 & mask(outer.1))
}

/// Copies the VCN's compartment when absent and checks the VCN exists and is AVAILABLE.
fn in_vcn(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_some() {
        return Ok(());
    }
    let vcn = p.reference("vcnId", VCN.name)?;
    p.default("compartmentId", vcn.body.get("compartmentId").cloned().unwrap_or(Value::Null));
    p.default("displayName", json!(format!("{}{}", p.id.split('.').nth(1).unwrap_or(""), &p.id[p.id.len() - 6..])));
    Ok(())
}

fn prepare_subnet(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_some() {
        return Ok(());
    }
    in_vcn(p)?;
    let vcn = p.reference("vcnId", VCN.name)?;
    let cidr = p.require("cidrBlock")?;
    let block = parse_cidr(&cidr)?;
    if block.1 > 30 {
        return Err(ApiError::invalid(format!("The subnet CIDR {cidr} is smaller than /30.")));
    }
    if let Some(label) = p.str("dnsLabel") {
        check_dns_label(&label, "subnet")?;
    }
    let inside = vcn
        .body
        .get("cidrBlocks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|b| parse_cidr(b).ok())
        .any(|outer| contains(outer, block));
    if !inside {
        return Err(ApiError::invalid(format!("The subnet CIDR {cidr} is not within the VCN's CIDR blocks.")));
    }
    for other in p.store.of_kind(p.region, SUBNET.name).filter(|s| s.str_field("vcnId") == Some(vcn.id.as_str())) {
        let Some(o) = other.str_field("cidrBlock").and_then(|c| parse_cidr(c).ok()) else { continue };
        if other.gone_at_ms.is_none() && (contains(o, block) || contains(block, o)) {
            return Err(ApiError::invalid(format!("The subnet CIDR {cidr} overlaps subnet {}.", other.id)));
        }
    }
    p.default("routeTableId", vcn.body.get("defaultRouteTableId").cloned().unwrap_or(Value::Null));
    p.default("securityListIds", json!([vcn.body.get("defaultSecurityListId")]));
    p.default("dhcpOptionsId", vcn.body.get("defaultDhcpOptionsId").cloned().unwrap_or(Value::Null));
    p.default("prohibitPublicIpOnVnic", json!(false));
    p.default("prohibitInternetIngress", json!(false));
    let router_ip = std::net::Ipv4Addr::from(block.0 + 1).to_string();
    p.body.insert("virtualRouterIp".into(), json!(router_ip));
    p.body.insert("virtualRouterMac".into(), json!("00:00:17:00:00:01"));
    if let (Some(label), Some(domain)) = (p.str("dnsLabel"), vcn.str_field("vcnDomainName")) {
        p.body.insert("subnetDomainName".into(), json!(format!("{label}.{domain}")));
    }
    Ok(())
}

fn prepare_route_table(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    in_vcn(p)?;
    p.default("routeRules", json!([]));
    rule_defaults(p, "routeRules", &[("destinationType", json!("CIDR_BLOCK")), ("routeType", json!("STATIC"))]);
    service_labels_of_region(p.region, p.body.get("routeRules"), "destination", "destinationType")
}

fn prepare_security_list(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    in_vcn(p)?;
    p.default("ingressSecurityRules", json!([]));
    p.default("egressSecurityRules", json!([]));
    rule_defaults(p, "ingressSecurityRules", &[("sourceType", json!("CIDR_BLOCK")), ("isStateless", json!(false))]);
    rule_defaults(p, "egressSecurityRules", &[("destinationType", json!("CIDR_BLOCK")), ("isStateless", json!(false))]);
    service_labels_of_region(p.region, p.body.get("ingressSecurityRules"), "source", "sourceType")?;
    service_labels_of_region(p.region, p.body.get("egressSecurityRules"), "destination", "destinationType")
}

/// Fills in what OCI fills in each rule of `list` that leaves it out (a route rule's
/// `routeType: STATIC`, a security rule's `isStateless: false`), as its reads show them.
fn rule_defaults(p: &mut Prepare<'_>, list: &str, defaults: &[(&str, Value)]) {
    let Some(rules) = p.body.get_mut(list).and_then(Value::as_array_mut) else { return };
    for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
        for (field, value) in defaults {
            if rule.get(*field).is_none_or(Value::is_null) {
                rule.insert((*field).to_owned(), value.clone());
            }
        }
    }
}

/// Rules of type SERVICE_CIDR_BLOCK must name one of this region's service labels, as OCI
/// requires (a label copied from another region is refused).
fn service_labels_of_region(
    region: &str,
    rules: Option<&Value>,
    field: &str,
    type_field: &str,
) -> Result<(), ApiError> {
    let known: Vec<Value> = services(region).into_iter().filter_map(|s| s.get("cidrBlock").cloned()).collect();
    for rule in rules.and_then(Value::as_array).into_iter().flatten() {
        if rule.get(type_field).and_then(Value::as_str) != Some("SERVICE_CIDR_BLOCK") {
            continue;
        }
        let label = rule.get(field).cloned().unwrap_or(Value::Null);
        if !known.contains(&label) {
            return Err(ApiError::invalid(format!(
                "{field} {label} is not a service of {region}; use one of {}.",
                known.iter().map(Value::to_string).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

fn prepare_service_gateway(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    in_vcn(p)?;
    let wanted: Vec<String> = p
        .body
        .get("services")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::missing("services"))?
        .iter()
        .filter_map(|s| s.get("serviceId").and_then(Value::as_str).map(str::to_string))
        .collect();
    let known = services(p.region);
    let mut resolved = Vec::new();
    for id in wanted {
        let s =
            known.iter().find(|s| s["id"] == json!(id)).ok_or_else(|| ApiError::not_found(&format!("service {id}")))?;
        resolved.push(json!({"serviceId": id, "serviceName": s["name"]}));
    }
    p.body.insert("services".into(), json!(resolved));
    p.default("blockTraffic", json!(false));
    Ok(())
}

fn prepare_nat_gateway(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    in_vcn(p)?;
    p.default("blockTraffic", json!(false));
    let n = p.id.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    p.default("natIp", json!(format!("203.0.113.{}", n % 254 + 1)));
    Ok(())
}

fn prepare_internet_gateway(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    in_vcn(p)?;
    p.default("isEnabled", json!(true));
    Ok(())
}

/// The Oracle Services Network services of a region, with stable OCIDs.
pub fn services(region: &str) -> Vec<Value> {
    let key = region_key(region);
    let upper = key.to_ascii_uppercase();
    vec![
        json!({
            "id": format!("ocid1.service.oc1.{key}.aaaaaaaaallservicesinoraclenetwork"),
            "name": format!("All {upper} Services In Oracle Services Network"),
            "description": format!("All {upper} Services In Oracle Services Network"),
            "cidrBlock": format!("all-{key}-services-in-oracle-services-network"),
        }),
        json!({
            "id": format!("ocid1.service.oc1.{key}.aaaaaaaaaobjectstorage"),
            "name": format!("OCI {upper} Object Storage"),
            "description": format!("OCI {upper} Object Storage"),
            "cidrBlock": format!("oci-{key}-objectstorage"),
        }),
    ]
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    let mut router = router;
    for (kind, path) in [
        (&VCN, "vcns"),
        (&SUBNET, "subnets"),
        (&ROUTE_TABLE, "routeTables"),
        (&SECURITY_LIST, "securityLists"),
        (&NSG, "networkSecurityGroups"),
        (&SERVICE_GATEWAY, "serviceGateways"),
        (&NAT_GATEWAY, "natGateways"),
        (&INTERNET_GATEWAY, "internetGateways"),
        (&DHCP_OPTIONS, "dhcps"),
    ] {
        router = resource::routes(router, kind, &[&format!("{V}/{path}")]);
    }
    router
        .route(
            &format!("{V}/services"),
            get(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::list_response(ListShape::Array, &services(&ctx.region), &call))
            }),
        )
        .route(
            &format!("{V}/networkSecurityGroups/{{id}}/actions/addSecurityRules"),
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(add_rules(&ctx, &call)) }),
        )
        .route(
            &format!("{V}/networkSecurityGroups/{{id}}/actions/removeSecurityRules"),
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(remove_rules(&ctx, &call)) }),
        )
        .route(
            &format!("{V}/networkSecurityGroups/{{id}}/securityRules"),
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(list_rules(&ctx, &call)) }),
        )
}

const RULE_KIND: &str = "core.securityrule";

pub(crate) fn add_rules(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let nsg_id = call.param("id").to_string();
    let body = call.json_object()?;
    let rules = body
        .get("securityRules")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::missing("securityRules"))?;
    let mut store = ctx.sim.store();
    let nsg = require_active(&store, &ctx.region, &nsg_id, NSG.name)?;
    let mut added = Vec::new();
    for rule in rules {
        let Value::Object(mut rule) = rule else {
            return Err(ApiError::invalid("Each security rule must be an object."));
        };
        let direction = rule.get("direction").and_then(Value::as_str).unwrap_or_default().to_string();
        if direction != "INGRESS" && direction != "EGRESS" {
            return Err(ApiError::invalid("direction must be INGRESS or EGRESS."));
        }
        if rule.get("protocol").and_then(Value::as_str).is_none() {
            return Err(ApiError::missing("protocol"));
        }
        let (field, type_field) =
            if direction == "INGRESS" { ("source", "sourceType") } else { ("destination", "destinationType") };
        service_labels_of_region(&ctx.region, Some(&json!([rule.clone()])), field, type_field)?;
        let id = unique(6).to_ascii_uppercase();
        rule.insert("id".into(), json!(id));
        rule.insert("isValid".into(), json!(true));
        rule.insert("timeCreated".into(), json!(rfc3339(now_ms())));
        rule.entry("isStateless").or_insert(json!(false));
        added.push(Value::Object(rule.clone()));
        rule.insert("networkSecurityGroupId".into(), json!(nsg.id));
        store.insert(Resource {
            kind: RULE_KIND.into(),
            region: ctx.region.clone(),
            global: false,
            id: format!("{}/{id}", nsg.id),
            etag: String::new(),
            seq: 0,
            body: Value::Object(rule),
            pending: None,
            gone_at_ms: None,
        });
    }
    drop(store);
    ctx.sim.touch();
    Ok(json(200, &json!({ "securityRules": added }), &[]))
}

fn remove_rules(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let nsg_id = call.param("id").to_string();
    let ids: Vec<String> = call
        .json_object()?
        .get("securityRuleIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mut store = ctx.sim.store();
    require_active(&store, &ctx.region, &nsg_id, NSG.name)?;
    for id in ids {
        store.resources.remove(&format!("{nsg_id}/{id}"));
    }
    drop(store);
    ctx.sim.touch();
    Ok(crate::sim::call::empty(200, &[]))
}

fn list_rules(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let nsg_id = call.param("id");
    let store = ctx.sim.store();
    resource::find(&store, &ctx.region, &NSG, nsg_id)?;
    let direction = call.query_value("direction");
    let items: Vec<Value> = store
        .of_kind(&ctx.region, RULE_KIND)
        .filter(|r| r.str_field("networkSecurityGroupId") == Some(nsg_id))
        .filter(|r| direction.is_none_or(|d| r.str_field("direction") == Some(d)))
        .map(|r| {
            let mut b = r.body.clone();
            if let Some(o) = b.as_object_mut() {
                o.remove("networkSecurityGroupId");
            }
            b
        })
        .collect();
    drop(store);
    resource::list_response(ListShape::Array, &items, call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_containment() {
        let vcn = parse_cidr("10.0.0.0/16").unwrap();
        assert!(contains(vcn, parse_cidr("10.0.1.0/24").unwrap()));
        assert!(!contains(vcn, parse_cidr("10.1.0.0/24").unwrap()));
        assert!(!contains(parse_cidr("10.0.1.0/24").unwrap(), vcn));
        assert_eq!(parse_cidr("10.0.0.0/33").unwrap_err().code, "InvalidParameter");
    }
}
