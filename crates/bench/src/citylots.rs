//! The CityLots2 stand-in generator: a port of `gen_citylots2.py` (the
//! project's own script, kept in ../shared/bench) that writes the same bytes
//! for the same `--seed` and `--events`.
//!
//! 213,068 GeoJSON parcels by default, one JSON object a line, planted so
//! that every CL2 benchmark rule matches exactly as many events as on the
//! real file. With another event count every planted count is scaled by
//! N/213068 (rounded), so match counts are proportional but no longer exact.
//! See the script's docstring for the shape of the data.
//!
//! Every random draw happens in the same order as in the script, through
//! [`PyRandom`], a bit-exact port of CPython's `random.Random`; floats are
//! written with [`push_float_repr`], Python's `repr`.

use crate::citylots_tables::{CT_STREETS, FILLER_STREETS, ON_STREETS};
use crate::pyfmt::push_float_repr;
use crate::pyrandom::PyRandom;
use anyhow::{bail, Result};
use std::collections::HashSet;
use std::io::Write;

/// Events in the real file (and the default).
pub const N_REAL: usize = 213_068;

const X0: f64 = -122.42916360922355;
const Y0: f64 = 37.729900216217324;
const XT: f64 = -122.41600944012424;
const XL: f64 = -122.46471267081272;
const XH: f64 = -122.4063085128395;

const WEST: f64 = -122.5135;
const EAST: f64 = -122.3575;
const SOUTH: f64 = 37.7085;
const NORTH: f64 = 37.8105;
const M_LON: f64 = 1.0 / 88000.0;
const M_LAT: f64 = 1.0 / 111000.0;

const EXACT_MB: [(&str, i64); 5] = [
    ("1430022", 1),
    ("2607117", 101),
    ("2607218", 35),
    ("3745012", 655),
    ("VACSTWIL", 1),
];
const MB_CLASS_COUNTS: [(&str, i64); 4] = [
    ("W143", 490 - 1),
    ("W2017", 713 - 101),
    ("W218", 43 - 35),
    ("W352", 2540 - 655),
];
const REGION_TOTAL: [(&str, i64); 4] = [("A", 60000), ("B", 88948), ("C", 38105), ("D", 26015)];
const STRADDLE: [(&str, i64); 4] = [("TSH", 498), ("TSL", 248), ("LS", 250), ("HS", 182)];
const MULTI: [(&str, i64); 4] = [("A", 38), ("B", 44), ("C", 21), ("D", 16)];
const SPECIAL_GEO: [(&str, i64); 3] = [("X0N", 216), ("X0F", 2), ("Y0M", 1)];

const ST_COUNT: i64 = 116_386;
const N_UNKNOWN: i64 = 2300;
const N_NULLREC: i64 = 520;
const FROM_441: i64 = 2453;
const FROM_P44: i64 = 1524;
const FROM_S41: i64 = 1560;
const ODD_NONST: i64 = 52527;

const FIXED_STREETS: &[(&str, &str, i64)] = &[
    ("FULTON", "ST", 1910),
    ("MASON", "ST", 2657),
    ("MASONIC", "AVE", 293),
    ("MOULTON", "ST", 22),
    ("JEFFERSON", "ST", 131),
    ("BEACH", "ST", 211),
    ("HYDE", "ST", 1758),
    ("CHESTNUT", "ST", 825),
    ("ACADIA", "ST", 11),
    ("ACME", "ALY", 4),
    ("ACTON", "ST", 9),
    ("BLAKE", "ST", 62),
    ("BLANKEN", "AVE", 118),
    ("BLYTHDALE", "AVE", 152),
    ("BLAIRWOOD", "LN", 24),
    ("BLUXOME", "ST", 44),
    ("BLACKSTONE", "CT", 14),
    ("BLANDY", "ST", 28),
    ("DRUMM", "ST", 13),
    ("DRAKE", "ST", 11),
    ("DREW", "ST", 14),
    ("FUNSTON", "AVE", 477),
    ("RHODE ISLAND", "ST", 301),
    ("RHINE", "ST", 27),
    ("LAKE", "ST", 566),
    ("VAN DYKE", "AVE", 131),
    ("BURKE", "AVE", 62),
    ("CRESTLAKE", "DR", 39),
    ("IRVING", "ST", 1411),
    ("KING", "ST", 247),
    ("STERLING", "ST", 139),
    ("REDDING", "ST", 166),
    ("SANTIAGO", "ST", 509),
    ("SAN DIEGO", "AVE", 78),
    ("CHICAGO", "WAY", 52),
    ("OTSEGO", "AVE", 43),
    ("VULCAN", "STWY", 9),
    ("HARRY", "STWY", 6),
];
const SUFFIX_ON_TOTAL: i64 = 17921;
const CT_TOTAL: i64 = 1774;
const NUMBERED_WEIGHT: f64 = 62000.0;

const ORIENT: [Option<f64>; 10] = [
    Some(0.0),
    Some(0.0),
    Some(0.0),
    Some(0.0),
    Some(0.0),
    Some(0.15),
    Some(0.15),
    Some(0.72),
    Some(0.72),
    None,
];

/// (STREET, ST_TYPE); `None` is JSON null.
type Street = (String, Option<String>);
type Pt = (f64, f64);
/// (BLKLOT, BLOCK_NUM, LOT_NUM) of one lot.
type Lot = (String, String, String);

fn ordinal(i: i64) -> String {
    if (10..=20).contains(&(i % 100)) {
        return format!("{i}TH");
    }
    let sfx = match i % 10 {
        1 => "ST",
        2 => "ND",
        3 => "RD",
        _ => "TH",
    };
    format!("{i}{sfx}")
}

fn vary(i: i64) -> f64 {
    0.6 + 0.8 * ((i * 37) % 11) as f64 / 10.0
}

fn numbered_st() -> Vec<(String, f64)> {
    (1..31)
        .map(|i| (ordinal(i), if i < 10 { 150.0 } else { 400.0 } * vary(i)))
        .collect()
}

fn numbered_ave() -> Vec<(String, f64)> {
    (2..49)
        .map(|i| (ordinal(i), if i < 15 { 300.0 } else { 750.0 } * vary(i + 5)))
        .collect()
}

/// `2.*0.*1.*7\Z` matched at the start.
fn re_2017(s: &[u8]) -> bool {
    subsequence_anchored(s, b'2', b"01", b'7')
}

/// `3.*5.*2\Z` matched at the start.
fn re_352(s: &[u8]) -> bool {
    subsequence_anchored(s, b'3', b"5", b'2')
}

/// The string starts with `first`, ends with `last` (a different position),
/// and holds `middle` as a subsequence strictly between them.
fn subsequence_anchored(s: &[u8], first: u8, middle: &[u8], last: u8) -> bool {
    if s.len() < 2 + middle.len() || s[0] != first || s[s.len() - 1] != last {
        return false;
    }
    let inner = &s[1..s.len() - 1];
    let mut want = middle.iter().peekable();
    for c in inner {
        if want.peek() == Some(&c) {
            want.next();
        }
    }
    want.peek().is_none()
}

/// `VA.*IL\Z` matched at the start.
fn re_vail(s: &[u8]) -> bool {
    s.len() >= 4 && s.starts_with(b"VA") && s.ends_with(b"IL")
}

/// Which CL2 MAPBLKLOT class a value falls into (`None`: several).
fn mb_class(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    let mut hits = Vec::new();
    if s.starts_with("143") {
        hits.push("W143");
    }
    if re_2017(b) {
        hits.push("W2017");
    }
    if s.ends_with("218") {
        hits.push("W218");
    }
    if re_352(b) {
        hits.push("W352");
    }
    if re_vail(b) {
        hits.push("WVAIL");
    }
    if EXACT_MB.iter().any(|(v, _)| *v == s) {
        return Some("EXACT");
    }
    match hits.len() {
        0 => Some("NONE"),
        1 => Some(hits[0]),
        _ => None,
    }
}

fn parse_weighted(text: &str) -> Vec<(String, Option<String>, f64)> {
    let mut out = Vec::new();
    for item in text.replace('\n', "").split('|') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let parts: Vec<&str> = item.split(' ').collect();
        if parts.len() < 2 {
            continue;
        }
        let w: f64 = parts[parts.len() - 1].parse().unwrap_or(0.0);
        let t = parts[parts.len() - 2];
        let name = parts[..parts.len() - 2].join(" ");
        out.push((name, (t != "-").then(|| t.to_string()), w));
    }
    out
}

/// Splits `total` over the weights by largest remainder (ties: first).
fn split_exact<K: Clone>(total: i64, weighted: &[(K, f64)]) -> Vec<(K, i64)> {
    let wsum: f64 = weighted.iter().fold(0.0, |a, (_, w)| a + w);
    if total <= 0 || wsum <= 0.0 {
        return weighted.iter().map(|(k, _)| (k.clone(), 0)).collect();
    }
    let raw: Vec<f64> = weighted
        .iter()
        .map(|(_, w)| total as f64 * w / wsum)
        .collect();
    let base: Vec<i64> = raw.iter().map(|r| r.floor() as i64).collect();
    let left = total - base.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&i, &j| {
        let fi = -(raw[i] - base[i] as f64);
        let fj = -(raw[j] - base[j] as f64);
        fi.partial_cmp(&fj)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(i.cmp(&j))
    });
    // Python's order[:left], negative `left` included.
    let take = if left >= 0 {
        (left as usize).min(order.len())
    } else {
        order.len().saturating_sub(left.unsigned_abs() as usize)
    };
    let mut counts = base;
    for &i in &order[..take] {
        counts[i] += 1;
    }
    weighted
        .iter()
        .zip(counts)
        .map(|((k, _), c)| (k.clone(), c))
        .collect()
}

/// All target counts, scaled to the requested number of events.
struct Plan {
    n: i64,
    f: f64,
    exact_mb: Vec<(&'static str, i64)>,
    special_geo: Vec<(&'static str, i64)>,
    mb_counts: Vec<(String, i64)>,
    geo_counts: Vec<(String, i64)>,
    n_nullrec: i64,
    street_counts: Vec<(Street, i64)>,
}

impl Plan {
    fn s(&self, c: i64) -> i64 {
        (c as f64 * self.f).round_ties_even() as i64
    }

    fn new(n: i64) -> Result<Plan> {
        let mut p = Plan {
            n,
            f: n as f64 / N_REAL as f64,
            exact_mb: Vec::new(),
            special_geo: Vec::new(),
            mb_counts: Vec::new(),
            geo_counts: Vec::new(),
            n_nullrec: 0,
            street_counts: Vec::new(),
        };
        p.exact_mb = EXACT_MB.iter().map(|(v, c)| (*v, p.s(*c))).collect();
        p.special_geo = SPECIAL_GEO.iter().map(|(k, c)| (*k, p.s(*c))).collect();
        let mut mb: Vec<(String, i64)> = MB_CLASS_COUNTS
            .iter()
            .map(|(k, c)| (k.to_string(), p.s(*c)))
            .collect();
        let none = n
            - p.exact_mb.iter().map(|(_, c)| c).sum::<i64>()
            - mb.iter().map(|(_, c)| c).sum::<i64>();
        mb.push(("NONE".to_string(), none));
        p.mb_counts = mb;

        let mut reg: Vec<(&str, i64)> = REGION_TOTAL.iter().map(|(k, c)| (*k, p.s(*c))).collect();
        let reg_sum: i64 = reg.iter().map(|(_, c)| c).sum();
        reg[1].1 += n - reg_sum;
        let mut geo: Vec<(String, i64)> = Vec::new();
        for (k, c) in STRADDLE {
            geo.push((k.to_string(), p.s(c)));
        }
        for (r, c) in MULTI {
            geo.push((format!("{r}_M"), p.s(c)));
        }
        let g = |geo: &[(String, i64)], k: &str| {
            geo.iter()
                .find(|(n, _)| n == k)
                .map(|(_, c)| *c)
                .unwrap_or(0)
        };
        let sp = |k: &str| {
            p.special_geo
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, c)| *c)
                .unwrap_or(0)
        };
        let a_p = reg[0].1 - g(&geo, "LS") - g(&geo, "A_M");
        let b_p = reg[1].1 - g(&geo, "TSL") - g(&geo, "B_M") - sp("X0N") - sp("X0F") - sp("Y0M");
        let c_p = reg[2].1 - g(&geo, "TSH") - g(&geo, "C_M");
        let d_p = reg[3].1 - g(&geo, "HS") - g(&geo, "D_M");
        geo.push(("A_P".to_string(), a_p));
        geo.push(("B_P".to_string(), b_p));
        geo.push(("C_P".to_string(), c_p));
        geo.push(("D_P".to_string(), d_p));
        if geo.iter().any(|(_, c)| *c < 0) {
            bail!("geometry plan infeasible for {n} events: {geo:?}");
        }
        p.geo_counts = geo;
        p.n_nullrec = p.s(N_NULLREC);
        p.street_counts = p.streets()?;
        Ok(p)
    }

    fn streets(&self) -> Result<Vec<(Street, i64)>> {
        let st = |n: &str, t: Option<&str>| -> Street { (n.to_string(), t.map(str::to_string)) };
        let mut cats: Vec<(Street, i64)> = Vec::new();
        for (name, t, c) in FIXED_STREETS {
            cats.push((st(name, Some(t)), self.s(*c)));
        }
        let on_fixed: i64 = cats
            .iter()
            .filter(|((nm, _), _)| nm.ends_with("ON"))
            .map(|(_, c)| c)
            .sum();
        let on_rest = (self.s(SUFFIX_ON_TOTAL) - on_fixed).max(0);
        let on: Vec<(Street, f64)> = parse_weighted(ON_STREETS)
            .into_iter()
            .map(|(n, t, w)| ((n, t), w))
            .collect();
        cats.extend(split_exact(on_rest, &on));
        let ct_fixed: i64 = cats
            .iter()
            .filter(|((_, t), _)| t.as_deref() == Some("CT"))
            .map(|(_, c)| c)
            .sum();
        let ct: Vec<(Street, f64)> = CT_STREETS
            .replace('\n', "")
            .split('|')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .enumerate()
            .map(|(i, nm)| (st(nm, Some("CT")), vary(i as i64)))
            .collect();
        cats.extend(split_exact((self.s(CT_TOTAL) - ct_fixed).max(0), &ct));
        let mut wl: Vec<(Street, f64)> = parse_weighted(FILLER_STREETS)
            .into_iter()
            .filter(|(_, _, w)| *w > 0.0)
            .map(|(n, t, w)| ((n, t), w))
            .collect();
        let used: i64 = cats.iter().map(|(_, c)| c).sum();
        let rest = self.n - used - self.s(N_UNKNOWN) - self.n_nullrec;
        wl.push((st("#NUMBERED", None), NUMBERED_WEIGHT));
        let mut numbered = 0;
        for (key, c) in split_exact(rest, &wl) {
            if key.0 == "#NUMBERED" {
                numbered = c;
            } else {
                cats.push((key, c));
            }
        }
        let st_other: i64 = cats
            .iter()
            .filter(|((_, t), _)| t.as_deref() == Some("ST"))
            .map(|(_, c)| c)
            .sum();
        let n_st = self.s(ST_COUNT) - st_other;
        if !(0..=numbered).contains(&n_st) {
            bail!("cannot reach the ST_TYPE total: numbered ST {n_st} of {numbered}");
        }
        for (nm, c) in split_exact(n_st, &numbered_st()) {
            cats.push((st(&nm, Some("ST")), c));
        }
        for (nm, c) in split_exact(numbered - n_st, &numbered_ave()) {
            cats.push((st(&nm, Some("AVE")), c));
        }
        cats.push((st("UNKNOWN", None), self.s(N_UNKNOWN)));
        cats.push((st("#NULL", None), self.n_nullrec));
        if cats.iter().map(|(_, c)| c).sum::<i64>() != self.n {
            bail!("street plan does not add up to {} events", self.n);
        }
        Ok(cats.into_iter().filter(|(_, c)| *c > 0).collect())
    }
}

#[derive(Clone, Debug)]
struct Unit {
    uid: usize,
    size: i64,
    mbc: Option<String>,
    mb: Option<String>,
    geo: Option<String>,
    street: Option<Street>,
    fs: Option<&'static str>,
    blk: Vec<Lot>,
}

impl Unit {
    fn new(uid: usize, size: i64) -> Unit {
        Unit {
            uid,
            size,
            mbc: None,
            mb: None,
            geo: None,
            street: None,
            fs: None,
            blk: Vec::new(),
        }
    }
}

fn condo_size(rng: &mut PyRandom) -> i64 {
    let r = rng.random();
    if r < 0.34 {
        2
    } else if r < 0.62 {
        3
    } else if r < 0.74 {
        4
    } else if r < 0.90 {
        rng.randint(5, 10)
    } else if r < 0.98 {
        rng.randint(11, 50)
    } else if r < 0.995 {
        rng.randint(51, 120)
    } else {
        rng.randint(121, 320)
    }
}

/// Gives every unit (indices into `units`) a category so that unit sizes
/// per category add up exactly; returns the category index of each unit,
/// in the order of `members`.
fn allocate(
    rng: &mut PyRandom,
    units: &[Unit],
    members: &[usize],
    counts: &[i64],
    what: &str,
) -> Result<Vec<usize>> {
    let mut room = counts.to_vec();
    let total: i64 = members.iter().map(|&i| units[i].size).sum();
    if total != room.iter().sum::<i64>() {
        bail!(
            "allocation of {what}: units hold {total} events, the plan asks for a different number"
        );
    }
    let mut result = vec![usize::MAX; members.len()];
    let mut stacks: Vec<usize> = (0..members.len())
        .filter(|&m| units[members[m]].size > 1)
        .collect();
    stacks.sort_by_key(|&m| (-units[members[m]].size, units[members[m]].uid));
    for m in stacks {
        let size = units[members[m]].size;
        let cands: Vec<usize> = (0..room.len()).filter(|&c| room[c] >= size).collect();
        if cands.is_empty() {
            bail!("allocation failed for {what} (size {size})");
        }
        let weights: Vec<i64> = cands.iter().map(|&c| room[c]).collect();
        let c = cands[rng.choices_index(&weights)];
        room[c] -= size;
        result[m] = c;
    }
    let mut labels = Vec::new();
    for (c, &r) in room.iter().enumerate() {
        for _ in 0..r.max(0) {
            labels.push(c);
        }
    }
    rng.shuffle(&mut labels);
    let singles: Vec<usize> = (0..members.len())
        .filter(|&m| units[members[m]].size == 1)
        .collect();
    if singles.len() != labels.len() {
        bail!(
            "allocation of {what}: {} single lots for {} labels",
            singles.len(),
            labels.len()
        );
    }
    for (m, c) in singles.into_iter().zip(labels) {
        result[m] = c;
    }
    Ok(result)
}

fn natural_lot(rng: &mut PyRandom) -> i64 {
    999.min(1 + rng.expovariate(1.0 / 28.0) as i64)
}

fn natural_block(rng: &mut PyRandom) -> i64 {
    rng.randint(1, 7650)
}

fn make_mapblklot(
    rng: &mut PyRandom,
    cls: &str,
    size: i64,
    used: &HashSet<String>,
) -> Result<(String, Vec<Lot>)> {
    for _ in 0..100_000 {
        let mut letter = "";
        let (block, lot) = match cls {
            "W143" => {
                let b = rng.randint(1430, 1439);
                (b, natural_lot(rng))
            }
            "W2017" => {
                let b = rng.randint(2000, 2999);
                (b, natural_lot(rng) / 10 * 10 + 7)
            }
            "W218" => (natural_block(rng), 218),
            "W352" => {
                let b = rng.randint(3000, 3999);
                (b, natural_lot(rng) / 10 * 10 + 2)
            }
            _ => {
                let b = natural_block(rng);
                let l = natural_lot(rng);
                if size == 1 && rng.random() < 0.04 {
                    letter = ["A", "B", "C", "D", "E", "F"][rng.index(6)];
                }
                (b, l)
            }
        };
        if lot > 999 {
            continue;
        }
        let v = format!("{block:04}{lot:03}{letter}");
        if mb_class(&v) != Some(cls) || used.contains(&v) {
            continue;
        }
        let blks = stack_blklots(&v, size);
        if blks[1..].iter().any(|b| used.contains(&b.0)) {
            continue;
        }
        return Ok((v, blks));
    }
    bail!("could not make a MAPBLKLOT of class {cls}")
}

/// (BLKLOT, BLOCK_NUM, LOT_NUM) for each lot of a stack.
fn stack_blklots(mb: &str, size: i64) -> Vec<Lot> {
    let split = mb.len().min(4);
    let (block, lot) = (&mb[..split], &mb[split..]);
    let first = if mb == "VACSTWIL" {
        (mb.to_string(), "VACS".to_string(), "TWIL".to_string())
    } else {
        (mb.to_string(), block.to_string(), lot.to_string())
    };
    let mut out = vec![first];
    if size == 1 {
        return out;
    }
    let numeric = !lot.is_empty() && lot.bytes().all(|b| b.is_ascii_digit());
    let base: i64 = if numeric { lot.parse().unwrap_or(0) } else { 0 };
    if size <= 60 && numeric && base + size <= 999 {
        for i in 1..size {
            let l = format!("{:03}", base + i);
            out.push((format!("{block}{l}"), block.to_string(), l));
        }
    } else {
        let tb = format!("{block}T");
        for i in 1..size {
            let ab = if (i - 1) % 2 == 0 { "A" } else { "B" };
            let l = format!("{:03}{ab}", 1 + (i - 1) / 2);
            out.push((format!("{tb}{l}"), tb.clone(), l));
        }
    }
    out
}

const S41_CHOICES: [i64; 38] = [
    0, 1, 1, 2, 2, 3, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
    25, 26, 27, 28, 29, 30, 31, 33, 35, 38, 39,
];

fn from_st_value(rng: &mut PyRandom, cls: &str) -> Result<String> {
    if cls == "441" {
        return Ok("441".to_string());
    }
    let odd = matches!(cls, "S41" | "P44O" | "OTHO");
    for _ in 0..10_000 {
        let v = if cls == "S41" {
            let p = *rng.choice(&S41_CHOICES);
            if p == 0 {
                "41".to_string()
            } else {
                format!("{p}41")
            }
        } else if cls == "P44O" || cls == "P44E" {
            let r = rng.random();
            if r < 0.04 && !odd {
                "44".to_string()
            } else if r < 0.65 {
                format!("44{}", rng.randint(0, 9))
            } else {
                format!("44{:02}", rng.randint(0, 99))
            }
        } else {
            let r = rng.random();
            let mut x = if r < 0.40 {
                rng.randint(1, 999)
            } else if r < 0.85 {
                rng.randint(1000, 2999)
            } else if r < 0.97 {
                rng.randint(3000, 4999)
            } else {
                rng.randint(5000, 8999)
            };
            if (x % 2 == 1) != odd {
                x += 1;
            }
            x.to_string()
        };
        let iv: i64 = v.parse().unwrap_or(0);
        if (iv % 2 == 1) != odd {
            continue;
        }
        if (cls == "OTHO" || cls == "OTHE") && (v.starts_with("44") || v.ends_with("41")) {
            continue;
        }
        if cls == "S41" && v.starts_with("44") {
            continue;
        }
        if (cls == "P44O" || cls == "P44E") && (v == "441" || v.ends_with("41")) {
            continue;
        }
        return Ok(v);
    }
    bail!("FROM_ST {cls}")
}

fn to_st_value(rng: &mut PyRandom, frm: &str) -> String {
    let r = rng.random();
    let x: i64 = frm.parse().unwrap_or(0);
    if r < 0.70 {
        frm.to_string()
    } else if r < 0.82 {
        (x + 2).to_string()
    } else if r < 0.97 {
        (x + 2 * rng.randint(2, 10)).to_string()
    } else {
        (x + 2 * rng.randint(11, 60)).to_string()
    }
}

fn vertex_count(rng: &mut PyRandom) -> usize {
    let r = rng.random();
    if r < 0.02 {
        3
    } else if r < 0.42 {
        4
    } else if r < 0.53 {
        5
    } else if r < 0.62 {
        6
    } else if r < 0.68 {
        7
    } else if r < 0.73 {
        8
    } else {
        300.min((9.0 * rng.paretovariate(1.5)) as usize)
    }
}

/// k distinct vertices (metres around 0,0, then degrees), counter-clockwise.
fn shape(rng: &mut PyRandom, k: usize, small: bool) -> Vec<Pt> {
    let mut pts: Vec<Pt>;
    if k <= 10 && rng.random() < 0.88 {
        let mut w = rng.uniform(6.0, 16.0);
        let mut d = rng.uniform(18.0, 40.0);
        if k >= 7 {
            w *= rng.uniform(1.0, 2.5);
            d *= rng.uniform(1.0, 1.8);
        }
        if small {
            w *= 0.6;
            d *= 0.6;
        }
        pts = vec![
            (-w / 2.0, -d / 2.0),
            (w / 2.0, -d / 2.0),
            (w / 2.0, d / 2.0),
            (-w / 2.0, d / 2.0),
        ];
        if k == 3 {
            pts.truncate(3);
        }
        for _ in 0..k.saturating_sub(4) {
            let i = rng.index(pts.len());
            let a = pts[i];
            let b = pts[(i + 1) % pts.len()];
            let t = rng.uniform(0.2, 0.8);
            let x = a.0 + (b.0 - a.0) * t + rng.uniform(-0.4, 0.4);
            let y = a.1 + (b.1 - a.1) * t + rng.uniform(-0.4, 0.4);
            pts.insert(i + 1, (x, y));
        }
    } else {
        let mut rad = rng.uniform(10.0, 22.0) * (k as f64 / 6.0).sqrt();
        if small {
            rad *= 0.5;
        }
        let mut angs: Vec<f64> = (0..k)
            .map(|_| rng.uniform(0.0, 2.0 * std::f64::consts::PI))
            .collect();
        angs.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        pts = Vec::with_capacity(k);
        for a in angs {
            let rr = rad * rng.uniform(0.75, 1.0);
            pts.push((rr * a.cos(), rr * a.sin()));
        }
    }
    let mut th = match *rng.choice(&ORIENT) {
        Some(t) => t,
        None => rng.uniform(0.0, std::f64::consts::PI),
    };
    th += rng.gauss(0.0, 0.01);
    let (c, s) = (th.cos(), th.sin());
    pts.into_iter()
        .map(|(x, y)| ((x * c - y * s) * M_LON, (x * s + y * c) * M_LAT))
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Region {
    A,
    B,
    C,
    D,
}

fn region_of(x: f64) -> Option<Region> {
    if x < XL {
        return Some(Region::A);
    }
    if x < XT {
        return (x != XL).then_some(Region::B);
    }
    if x < XH {
        return (x != XT).then_some(Region::C);
    }
    (x != XH).then_some(Region::D)
}

/// The geometry target classes: a region, or a straddle class.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Region(Region),
    Ls,
    Hs,
    Tsl,
    Tsh,
}

fn py_min(xs: &[f64]) -> f64 {
    xs.iter()
        .copied()
        .fold(f64::INFINITY, |m, x| if x < m { x } else { m })
}

fn py_max(xs: &[f64]) -> f64 {
    xs.iter()
        .copied()
        .fold(f64::NEG_INFINITY, |m, x| if x > m { x } else { m })
}

fn geo_class(fx: f64, xs: &[f64]) -> Option<Target> {
    let r = region_of(fx)?;
    let (mn, mx) = (py_min(xs), py_max(xs));
    Some(match r {
        Region::A => {
            if mx >= XT {
                return None;
            }
            if mx > XL {
                Target::Ls
            } else {
                Target::Region(Region::A)
            }
        }
        Region::D => {
            if mn <= XT {
                return None;
            }
            if mn < XH {
                Target::Hs
            } else {
                Target::Region(Region::D)
            }
        }
        Region::B => {
            if mx > XT {
                Target::Tsl
            } else {
                Target::Region(Region::B)
            }
        }
        Region::C => {
            if mn < XT {
                Target::Tsh
            } else {
                Target::Region(Region::C)
            }
        }
    })
}

struct Geometry {
    multi: bool,
    first: Pt,
    parts: Vec<Vec<Vec<Pt>>>,
}

fn all_x(parts: &[Vec<Vec<Pt>>]) -> Vec<f64> {
    parts
        .iter()
        .flat_map(|p| p.iter().flat_map(|r| r.iter().map(|pt| pt.0)))
        .collect()
}

fn gen_geometry(rng: &mut PyRandom, gcls: &str) -> Result<Geometry> {
    let multi = gcls.ends_with("_M") || gcls == "Y0M";
    let x0 = gcls == "X0N" || gcls == "X0F";
    let target = match gcls {
        "X0N" | "X0F" | "Y0M" => Target::Region(Region::B),
        "LS" => Target::Ls,
        "HS" => Target::Hs,
        "TSL" => Target::Tsl,
        "TSH" => Target::Tsh,
        _ => Target::Region(match gcls.as_bytes().first() {
            Some(b'A') => Region::A,
            Some(b'B') => Region::B,
            Some(b'C') => Region::C,
            Some(b'D') => Region::D,
            _ => bail!("unknown geometry class {gcls}"),
        }),
    };
    // (line, region of the first point) of a straddle class
    let straddle = match target {
        Target::Ls => Some((XL, Region::A)),
        Target::Hs => Some((XH, Region::D)),
        Target::Tsl => Some((XT, Region::B)),
        Target::Tsh => Some((XT, Region::C)),
        Target::Region(_) => None,
    };
    for _ in 0..10_000 {
        let shapes: Vec<Vec<Vec<Pt>>> = if multi {
            let nparts = if rng.random() < 0.65 {
                2
            } else if rng.random() < 0.6 {
                3
            } else {
                rng.randint(4, 6) as usize
            };
            let mut shapes = Vec::with_capacity(nparts);
            for p in 0..nparts {
                let k = vertex_count(rng).min(24);
                let sh = shape(rng, k, true);
                let ox = if p > 0 {
                    rng.uniform(-60.0, 60.0) * M_LON
                } else {
                    0.0
                };
                let oy = if p > 0 {
                    rng.uniform(-60.0, 60.0) * M_LAT
                } else {
                    0.0
                };
                shapes.push(vec![sh
                    .into_iter()
                    .map(|(x, y)| (x + ox, y + oy))
                    .collect()]);
            }
            shapes
        } else {
            let mut k = vertex_count(rng);
            if x0 && k < 5 {
                k = 5;
            }
            let sh = shape(rng, k, false);
            let mut rings = vec![sh];
            if k >= 6 && rng.random() < 0.004 {
                let hole = shape(rng, 4, false)
                    .into_iter()
                    .map(|(x, y)| (x * 0.3, y * 0.3))
                    .collect();
                rings.push(hole);
            }
            vec![rings]
        };
        let allx = all_x(&shapes);
        let (minx, maxx) = (py_min(&allx), py_max(&allx));
        let cx = if let Some((line, _)) = straddle {
            line - rng.uniform(minx, maxx)
        } else if x0 {
            X0 - rng.uniform(minx, maxx)
        } else {
            let (lo, hi) = match target {
                Target::Region(Region::A) => (WEST, XL),
                Target::Region(Region::B) => (XL, XT),
                Target::Region(Region::C) => (XT, XH),
                _ => (XH, EAST),
            };
            rng.uniform(lo, hi)
        };
        let mut cy = rng.uniform(SOUTH, NORTH);
        if gcls == "Y0M" {
            cy = Y0 + rng.uniform(-0.0002, 0.0002);
        }
        let mut parts: Vec<Vec<Vec<Pt>>> = shapes
            .iter()
            .map(|part| {
                part.iter()
                    .map(|ring| ring.iter().map(|&(x, y)| (cx + x, cy + y)).collect())
                    .collect()
            })
            .collect();
        let k0 = parts[0][0].len();
        let st = if let Some((_, want)) = straddle {
            let starts: Vec<usize> = (0..k0)
                .filter(|&i| region_of(parts[0][0][i].0) == Some(want))
                .collect();
            if starts.is_empty() {
                continue;
            }
            *rng.choice(&starts)
        } else {
            rng.index(k0)
        };
        parts[0][0].rotate_left(st);
        match gcls {
            "X0F" => parts[0][0][0].0 = X0,
            "X0N" => {
                let j = rng.randrange(1, k0 as i64) as usize;
                parts[0][0][j].0 = X0;
            }
            "Y0M" => {
                let pi = rng.index(parts.len());
                let len = parts[pi][0].len();
                let j = if pi == 0 {
                    rng.randrange(1, len as i64) as usize
                } else {
                    rng.index(len)
                };
                parts[pi][0][j].1 = Y0;
            }
            _ => {}
        }
        let xs = all_x(&parts);
        let fx = parts[0][0][0].0;
        if geo_class(fx, &xs) != Some(target) {
            continue;
        }
        let nx0 = xs.iter().filter(|&&x| x == X0).count();
        match gcls {
            "X0N" => {
                if nx0 != 1 || fx == X0 {
                    continue;
                }
            }
            "X0F" => {
                if nx0 != 1 {
                    continue;
                }
            }
            _ => {
                if nx0 != 0 {
                    continue;
                }
            }
        }
        if xs.iter().any(|&x| x == XL || x == XT || x == XH) {
            continue;
        }
        if multi
            && gcls != "Y0M"
            && parts
                .iter()
                .any(|p| p.iter().any(|r| r.iter().any(|pt| pt.1 == Y0)))
        {
            continue;
        }
        for part in &mut parts {
            for ring in part.iter_mut() {
                let first = ring[0];
                ring.push(first);
            }
        }
        let first = parts[0][0][0];
        return Ok(Geometry {
            multi,
            first,
            parts,
        });
    }
    bail!("geometry generation failed for {gcls}")
}

fn push_point(out: &mut String, p: Pt, z: &str) {
    out.push_str("{\"x\":");
    push_float_repr(out, p.0);
    out.push_str(",\"y\":");
    push_float_repr(out, p.1);
    out.push_str(",\"z\":");
    out.push_str(z);
    out.push('}');
}

fn push_ring(out: &mut String, ring: &[Pt], z: &str) {
    out.push('[');
    for (i, p) in ring.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_point(out, *p, z);
    }
    out.push(']');
}

fn push_rings(out: &mut String, rings: &[Vec<Pt>], z: &str) {
    out.push('[');
    for (i, r) in rings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_ring(out, r, z);
    }
    out.push(']');
}

/// `"geometry":{...}}` (closing the event too) and the number of points.
fn geometry_json(g: &Geometry, z: &str) -> (String, usize) {
    let mut s = String::with_capacity(1024);
    s.push_str("\"geometry\":{\"type\":\"");
    s.push_str(if g.multi { "MultiPolygon" } else { "Polygon" });
    s.push_str("\",\"firstCoordinates\":");
    push_point(&mut s, g.first, z);
    s.push_str(",\"coordinates\":");
    if g.multi {
        s.push('[');
        for (i, part) in g.parts.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_rings(&mut s, part, z);
        }
        s.push(']');
    } else {
        push_rings(&mut s, &g.parts[0], z);
    }
    s.push_str("}}");
    let npts = g.parts.iter().flatten().map(Vec::len).sum();
    (s, npts)
}

/// What [`generate`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenStats {
    pub events: usize,
    pub units: usize,
    pub stacks: usize,
    pub bytes: u64,
    pub points: u64,
    pub multipolygons: usize,
}

/// Writes `events` CityLots2 lines for `seed` to `out`, byte-identical to
/// `gen_citylots2.py --events EVENTS --seed SEED`.
pub fn generate(events: usize, seed: i64, out: &mut impl Write) -> Result<GenStats> {
    if events < 1 {
        bail!("--events must be >= 1");
    }
    let n = events as i64;
    let mut rng = PyRandom::new(seed);
    let plan = Plan::new(n)?;

    // ---- units ----
    let mut units: Vec<Unit> = Vec::new();
    let mut specials = Vec::new();
    for (v, c) in &plan.exact_mb {
        if *c > 0 {
            let mut u = Unit::new(units.len(), *c);
            u.mbc = Some("EXACT".to_string());
            u.mb = Some(v.to_string());
            specials.push(units.len());
            units.push(u);
        }
    }
    for (g, c) in &plan.special_geo {
        if *c > 0 {
            let mut u = Unit::new(units.len(), *c);
            u.geo = Some(g.to_string());
            units.push(u);
        }
    }
    let mut placed: i64 = units.iter().map(|u| u.size).sum();
    let stacked_target = (0.24 * n as f64) as i64;
    let cap = 2.max((n as f64 * 0.0015) as i64);
    while placed < stacked_target {
        let sz = condo_size(&mut rng).min(cap);
        if placed + sz > n {
            break;
        }
        units.push(Unit::new(units.len(), sz));
        placed += sz;
    }
    while placed < n {
        units.push(Unit::new(units.len(), 1));
        placed += 1;
    }

    // ---- allocation of categories ----
    let members: Vec<usize> = (0..units.len())
        .filter(|&i| units[i].mbc.is_none())
        .collect();
    let counts: Vec<i64> = plan.mb_counts.iter().map(|(_, c)| *c).collect();
    for (m, c) in members
        .iter()
        .zip(allocate(&mut rng, &units, &members, &counts, "mbc")?)
    {
        units[*m].mbc = Some(plan.mb_counts[c].0.clone());
    }
    let members: Vec<usize> = (0..units.len())
        .filter(|&i| units[i].geo.is_none())
        .collect();
    let counts: Vec<i64> = plan.geo_counts.iter().map(|(_, c)| *c).collect();
    for (m, c) in members
        .iter()
        .zip(allocate(&mut rng, &units, &members, &counts, "geo")?)
    {
        units[*m].geo = Some(plan.geo_counts[c].0.clone());
    }
    let members: Vec<usize> = (0..units.len()).collect();
    let counts: Vec<i64> = plan.street_counts.iter().map(|(_, c)| *c).collect();
    for (m, c) in members
        .iter()
        .zip(allocate(&mut rng, &units, &members, &counts, "street")?)
    {
        units[*m].street = Some(plan.street_counts[c].0.clone());
    }

    // FROM_ST / ODD_EVEN classes, per ST_TYPE subset
    let street_of = |u: &Unit| u.street.clone().unwrap_or_default();
    let sub_st: Vec<usize> = (0..units.len())
        .filter(|&i| street_of(&units[i]).1.as_deref() == Some("ST"))
        .collect();
    let sub_nst: Vec<usize> = (0..units.len())
        .filter(|&i| {
            let (name, t) = street_of(&units[i]);
            t.as_deref() != Some("ST") && name != "UNKNOWN" && name != "#NULL"
        })
        .collect();
    let n_st: i64 = sub_st.iter().map(|&i| units[i].size).sum();
    let n_nst: i64 = sub_nst.iter().map(|&i| units[i].size).sum();
    let tot = (n_st + n_nst) as f64;
    let (c441, cp44, cs41) = (plan.s(FROM_441), plan.s(FROM_P44), plan.s(FROM_S41));
    let share = |c: i64| ((c * n_st) as f64 / tot).round_ties_even() as i64;
    let (a441, ap44, as41) = (share(c441), share(cp44), share(cs41));
    let odd_nst = plan.s(ODD_NONST) - plan.n_nullrec;
    let odd_st = (n_st as f64 * 0.503).round_ties_even() as i64;
    for (subset, nn, k441, kp44, ks41, odd) in [
        (&sub_st, n_st, a441, ap44, as41, odd_st),
        (
            &sub_nst,
            n_nst,
            c441 - a441,
            cp44 - ap44,
            cs41 - as41,
            odd_nst,
        ),
    ] {
        let p44o = kp44.div_euclid(2);
        let classes: [(&'static str, i64); 6] = [
            ("441", k441),
            ("S41", ks41),
            ("P44O", p44o),
            ("P44E", kp44 - p44o),
            ("OTHO", odd - k441 - ks41 - p44o),
            ("OTHE", nn - odd - (kp44 - p44o)),
        ];
        if classes.iter().any(|(_, c)| *c < 0) {
            bail!("FROM_ST plan infeasible: {classes:?}");
        }
        let counts: Vec<i64> = classes.iter().map(|(_, c)| *c).collect();
        for (m, c) in subset
            .iter()
            .zip(allocate(&mut rng, &units, subset, &counts, "fs")?)
        {
            units[*m].fs = Some(classes[c].0);
        }
    }

    // ---- MAPBLKLOT values ----
    let mut used: HashSet<String> = HashSet::new();
    for &i in &specials {
        let mb = units[i].mb.clone().unwrap_or_default();
        units[i].blk = stack_blklots(&mb, units[i].size);
        used.insert(mb);
        for b in &units[i].blk {
            used.insert(b.0.clone());
        }
    }
    for u in units.iter_mut() {
        if u.mb.is_none() {
            let cls = u.mbc.clone().unwrap_or_default();
            let (mb, blk) = make_mapblklot(&mut rng, &cls, u.size, &used)?;
            used.insert(mb.clone());
            for b in &blk {
                used.insert(b.0.clone());
            }
            u.mb = Some(mb);
            u.blk = blk;
        }
    }
    units.sort_by(|a, b| (&a.mb, a.uid).cmp(&(&b.mb, b.uid)));

    // ---- write ----
    let mut stats = GenStats {
        units: units.len(),
        stacks: units.iter().filter(|u| u.size > 1).count(),
        ..GenStats::default()
    };
    let mut buf = String::with_capacity(1 << 20);
    for u in &units {
        let g = gen_geometry(&mut rng, u.geo.as_deref().unwrap_or(""))?;
        let z = if rng.random() < 0.8 { "0.0" } else { "0" };
        let (gjson, npts) = geometry_json(&g, z);
        let (name, stype) = street_of(u);
        let addr = if name == "#NULL" {
            "\"FROM_ST\":null,\"TO_ST\":null,\"STREET\":null,\"ST_TYPE\":null,\"ODD_EVEN\":null"
                .to_string()
        } else if name == "UNKNOWN" {
            "\"FROM_ST\":\"0\",\"TO_ST\":\"0\",\"STREET\":\"UNKNOWN\",\"ST_TYPE\":null,\"ODD_EVEN\":\"E\""
                .to_string()
        } else {
            let fs = u.fs.unwrap_or("OTHE");
            let frm = from_st_value(&mut rng, fs)?;
            let to = to_st_value(&mut rng, &frm);
            let oe = if matches!(fs, "441" | "S41" | "P44O" | "OTHO") {
                "O"
            } else {
                "E"
            };
            let st = match &stype {
                Some(t) => format!("\"{t}\""),
                None => "null".to_string(),
            };
            format!(
                "\"FROM_ST\":\"{frm}\",\"TO_ST\":\"{to}\",\"STREET\":\"{name}\",\"ST_TYPE\":{st},\"ODD_EVEN\":\"{oe}\""
            )
        };
        let mb = u.mb.as_deref().unwrap_or("");
        for (blk, bnum, lnum) in &u.blk {
            let start = buf.len();
            buf.push_str("{\"type\":\"Feature\",\"properties\":{\"MAPBLKLOT\":\"");
            buf.push_str(mb);
            buf.push_str("\",\"BLKLOT\":\"");
            buf.push_str(blk);
            buf.push_str("\",\"BLOCK_NUM\":\"");
            buf.push_str(bnum);
            buf.push_str("\",\"LOT_NUM\":\"");
            buf.push_str(lnum);
            buf.push_str("\",");
            buf.push_str(&addr);
            buf.push_str("},");
            buf.push_str(&gjson);
            buf.push('\n');
            stats.events += 1;
            stats.bytes += (buf.len() - start) as u64;
            stats.points += npts as u64;
            if g.multi {
                stats.multipolygons += 1;
            }
        }
        if buf.len() >= 1 << 20 {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    out.write_all(buf.as_bytes())?;
    out.flush()?;
    if stats.events != events {
        bail!("wrote {} events instead of {events}", stats.events);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapblklot_classes() {
        assert_eq!(mb_class("1430022"), Some("EXACT"));
        assert_eq!(mb_class("1431005"), Some("W143"));
        assert_eq!(mb_class("2607017"), Some("W2017"));
        assert_eq!(mb_class("2017"), Some("W2017"));
        assert_eq!(mb_class("217"), Some("NONE"));
        assert_eq!(mb_class("0001218"), Some("W218"));
        assert_eq!(mb_class("3005002"), Some("W352"));
        assert_eq!(mb_class("352"), Some("W352"));
        assert_eq!(mb_class("32"), Some("NONE"));
        assert_eq!(mb_class("VACSTWIL"), Some("EXACT"));
        assert_eq!(mb_class("VAIL"), Some("WVAIL"));
        // 143* and *218 at once: unusable
        assert_eq!(mb_class("1430218"), None);
    }

    #[test]
    fn stacks_number_their_lots() {
        let s = stack_blklots("1234010", 3);
        assert_eq!(s[0], ("1234010".into(), "1234".into(), "010".into()));
        assert_eq!(s[2], ("1234012".into(), "1234".into(), "012".into()));
        let s = stack_blklots("1234990", 20);
        assert_eq!(s[1], ("1234T001A".into(), "1234T".into(), "001A".into()));
        assert_eq!(s[2], ("1234T001B".into(), "1234T".into(), "001B".into()));
    }

    #[test]
    fn split_is_exact_and_deterministic() {
        let w = [("a", 1.0), ("b", 1.0), ("c", 1.0)];
        assert_eq!(split_exact(10, &w), vec![("a", 4), ("b", 3), ("c", 3)]);
        assert_eq!(split_exact(0, &w), vec![("a", 0), ("b", 0), ("c", 0)]);
    }

    #[test]
    fn small_run_is_deterministic_and_line_per_event() {
        let mut a = Vec::new();
        let stats = generate(300, 1, &mut a).unwrap();
        assert_eq!(stats.events, 300);
        assert_eq!(a.iter().filter(|&&b| b == b'\n').count(), 300);
        let mut b = Vec::new();
        generate(300, 1, &mut b).unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        generate(300, 2, &mut c).unwrap();
        assert_ne!(a, c);
        for line in a.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert_eq!(v["type"], "Feature");
        }
    }
}
