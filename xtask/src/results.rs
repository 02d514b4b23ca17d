//! `cargo xtask bench peers` writes bench/RESULTS.md and bench/results.svg from criterion's
//! output (target/criterion/peers_*): one table per workload with each system's median and
//! p99 and the ratio peer / KausalDB, the machine, the date, and the memory each used.

use std::fmt::Write as _;
use std::path::Path;

const SYSTEMS: [&str; 5] = ["kausaldb", "sqlite", "lmdb", "redb", "fjall"];
/// Rows a table shows after the systems, not charted: KausalDB traversed by the benchmark's
/// own hash-set BFS over its edge listings (the `_tables` workloads).
const EXTRA_ROWS: [&str; 1] = ["kausaldb_harness_bfs"];
const WORKLOADS: [(&str, &str); 24] = [
    ("block_write_buffered", "put one 1 KiB block, no sync"),
    ("block_write_durable", "put one 1 KiB block and make it durable"),
    ("block_read_hot", "get a random block of 20,000 just written"),
    (
        "block_read_cold",
        "get a block of the 1,000,000-block store by a random id, from as many random ids as \
         blocks (each store settled first: KausalDB flushed and compacted; fjall flushed and \
         major-compacted)",
    ),
    ("block_read_missing", "get an id that does not exist"),
    (
        "edge_lookup_outgoing",
        "list the callees of a random block of the 100k-block graph (500k call edges) as \
         loaded (KausalDB: in its memtable)",
    ),
    ("edge_lookup_incoming", "list the callers of a random block, the graph as loaded"),
    ("callees_3hop", "BFS over calls, outgoing, 3 hops, the graph as loaded"),
    ("callers_3hop", "BFS over calls, incoming, 3 hops, the graph as loaded"),
    ("callees_5hop", "BFS over calls, outgoing, 5 hops, the graph as loaded"),
    ("callers_5hop", "BFS over calls, incoming, 5 hops, the graph as loaded"),
    (
        "edge_lookup_outgoing_settled",
        "list the callees of a random block after each store settled (KausalDB flushed the \
         graph into a sorted table and reads it through memory-mapped views; fjall flushed \
         and major-compacted)",
    ),
    ("edge_lookup_incoming_settled", "list the callers of a random block, settled"),
    ("callees_3hop_settled", "BFS over calls, outgoing, 3 hops, settled"),
    ("callers_3hop_settled", "BFS over calls, incoming, 3 hops, settled"),
    ("callees_5hop_settled", "BFS over calls, outgoing, 5 hops, settled"),
    ("callers_5hop_settled", "BFS over calls, incoming, 5 hops, settled"),
    (
        "edge_lookup_outgoing_tables",
        "list the callees of a random block of the 100k-block graph of 1 KiB blocks (500k \
         call edges) at a realistic config: KausalDB with `bench_config` (a 64 Ki-block \
         memtable, default compaction), so the graph lies in several tables and the \
         memtable",
    ),
    ("edge_lookup_incoming_tables", "list the callers of a random block, realistic config"),
    (
        "callees_3hop_tables",
        "BFS over calls, outgoing, 3 hops, realistic config (kausaldb: the native traversal; \
         kausaldb_harness_bfs: the benchmark's hash-set BFS over KausalDB's edge listings)",
    ),
    ("callers_3hop_tables", "BFS over calls, incoming, 3 hops, realistic config"),
    ("callees_5hop_tables", "BFS over calls, outgoing, 5 hops, realistic config"),
    ("callers_5hop_tables", "BFS over calls, incoming, 5 hops, realistic config"),
    (
        "edge_insert",
        "insert one call edge (of 200,000 random ones, cycled) into the settled graph; run \
         last, since it changes the stores",
    ),
];

/// Median and p99 (of criterion's per-sample means) in nanoseconds.
struct Timing {
    median_ns: f64,
    p99_ns: f64,
}

fn number_after(text: &str, key: &str) -> Option<f64> {
    let start = text.find(key)? + key.len();
    let rest = &text[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

fn array_after(text: &str, key: &str) -> Option<Vec<f64>> {
    let start = text.find(key)? + key.len();
    let rest = &text[start..];
    let end = rest.find(']')?;
    rest[..end].split(',').map(|item| item.trim().parse().ok()).collect()
}

fn timing(directory: &Path) -> Option<Timing> {
    let estimates = std::fs::read_to_string(directory.join("new/estimates.json")).ok()?;
    let median_at = estimates.find("\"median\"")?;
    let median_ns = number_after(&estimates[median_at..], "\"point_estimate\":")?;
    let sample = std::fs::read_to_string(directory.join("new/sample.json")).ok()?;
    let iters = array_after(&sample, "\"iters\":[")?;
    let times = array_after(&sample, "\"times\":[")?;
    let mut means: Vec<f64> = times.iter().zip(&iters).map(|(time, n)| time / n).collect();
    means.sort_by(f64::total_cmp);
    let index = ((means.len() as f64 * 0.99).ceil() as usize).saturating_sub(1);
    Some(Timing { median_ns, p99_ns: *means.get(index)? })
}

fn human(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.0} ns"),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .next()
                .map(|line| line.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib >> 20);
    format!("{cpu}, {cores} cores, {memory} GiB RAM, Linux")
}

fn today() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The workloads measured as whole runs (a TSV of median and largest per system, written by
/// the benchmark itself): file, workload name, what it does.
const WHOLE_RUNS: [(&str, &str, &str); 3] = [
    (
        "peers-ingest.tsv",
        "ingest_batch",
        "ingest 100,000 blocks of 1 KiB and 500,000 call edges into an empty store, then \
             make it durable (transactions of 10,000 writes where the store has them); \
             whole runs, median and largest of three",
    ),
    (
        "peers-reopen-log.tsv",
        "open_after_crash_log",
        "reopen a store after a crash with 256 MiB in its log, until the first read is \
             answered: each system wrote 256 MiB of 1 KiB blocks in a child process, synced, \
             and was killed with SIGKILL; each run recovers a fresh copy of that state. Every \
             log holds all of it: KausalDB's memtable was sized for it (its whole log is \
             replayed), SQLite made no automatic checkpoint, fjall's memtable and journal \
             were 1 GiB; LMDB and redb keep no log and ran as usual; median and largest of \
             three",
    ),
    (
        "peers-reopen-default.tsv",
        "open_after_crash_default",
        "the same crash and reopen with every system in its default configuration: \
             KausalDB `Config::DEFAULT` (8 MiB memtable, flushed into tables as it fills), \
             SQLite a checkpoint every 1000 pages, fjall 64 MiB memtables; \
             kausaldb_bench_config is KausalDB with the 96 MiB memtable of the other \
             workloads, whose log then holds up to 64Ki blocks; median and largest of three",
    ),
];

/// One ratio row of the chart: a workload and each peer's median over KausalDB's.
type RatioRow = (String, Vec<(&'static str, f64)>);

/// Reads criterion's output and writes RESULTS.md and results.svg into `bench/`.
pub fn write(root: &Path) -> Result<(), String> {
    let criterion = root.join("target/criterion");
    let previous = std::fs::read_to_string(root.join("bench/RESULTS.md")).unwrap_or_default();
    let mut body = String::new();
    let mut ratios: Vec<RatioRow> = Vec::new();
    let mut kept = Vec::new();
    write_sampled(&criterion, &previous, &mut body, &mut ratios, &mut kept);
    write_whole_runs(&criterion, &previous, &mut body, &mut ratios, &mut kept);
    if ratios.iter().all(|(workload, _)| kept.contains(workload)) {
        return Err("no peers_* results under target/criterion: run the benchmark first".into());
    }
    write_memory(&criterion, &previous, &mut body);
    let mut markdown = String::new();
    write_preamble(&mut markdown, &kept);
    markdown.push_str(&body);
    std::fs::write(root.join("bench/RESULTS.md"), markdown).map_err(|e| e.to_string())?;
    std::fs::write(root.join("bench/results.svg"), chart(&ratios)).map_err(|e| e.to_string())?;
    eprintln!("xtask: wrote bench/RESULTS.md and bench/results.svg");
    Ok(())
}

fn write_preamble(markdown: &mut String, kept: &[String]) {
    let _ = writeln!(markdown, "# KausalDB and its peers, side by side\n");
    let _ = writeln!(markdown, "Generated by `cargo xtask bench peers` on {}.\n", today());
    if !kept.is_empty() {
        let _ = writeln!(
            markdown,
            "This run measured only some workloads (`KAUSAL_BENCH_ONLY`); these sections are \
             kept from the previous run, on its date and code: {}.\n",
            kept.join(", ")
        );
    }
    let _ = writeln!(markdown, "Machine: {}.\n", machine());
    let _ = writeln!(
        markdown,
        "How each system is configured, and the workloads, are in `bench/src/peers.rs` and \
         `bench/benches/peers.rs`. Medians and p99 are per operation; p99 is over \
         criterion's samples (each a mean of many operations), so it shows slow phases \
         such as flushes, not single-operation tails. Ratio = system median / KausalDB \
         median: above 1 KausalDB is faster.\n"
    );
    let _ = writeln!(markdown, "![ratios](results.svg)\n");
}

/// The section `## {workload}` of an earlier RESULTS.md, up to the next section.
fn previous_section<'a>(previous: &'a str, workload: &str) -> Option<&'a str> {
    let heading = format!("## {workload}\n");
    let start = previous.find(&heading)?;
    let rest = &previous[start + heading.len()..];
    let end = rest.find("\n## ").map_or(rest.len(), |end| end + 1);
    Some(&previous[start..start + heading.len() + end])
}

/// Copies `workload`'s section from the previous RESULTS.md, if it has one, with the ratios
/// its table states (the last column of each peer's row) for the chart.
fn keep_section(
    previous: &str,
    workload: &str,
    markdown: &mut String,
    ratios: &mut Vec<RatioRow>,
    kept: &mut Vec<String>,
) {
    let Some(section) = previous_section(previous, workload) else {
        return;
    };
    markdown.push_str(section);
    let row = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let system = SYSTEMS.into_iter().find(|name| Some(name) == cells.get(1))?;
            let ratio = cells.get(cells.len().checked_sub(2)?)?.parse().ok()?;
            (system != "kausaldb").then_some((system, ratio))
        })
        .collect();
    ratios.push((workload.to_string(), row));
    kept.push(workload.to_string());
}

/// What `peers-graph-tables.tsv` says about KausalDB's store in the `_tables` workloads.
fn tables_note(criterion: &Path) -> String {
    let text =
        std::fs::read_to_string(criterion.join("peers-graph-tables.tsv")).unwrap_or_default();
    let fields: Vec<&str> =
        text.lines().nth(1).map(|line| line.split('\t').collect()).unwrap_or_default();
    match fields[..] {
        [tables, with_edges, memtable_edges, region] => {
            let mib = region.parse::<f64>().unwrap_or(0.0) / 1048576.0;
            format!(
                " (this run: KausalDB's edges in {with_edges} of its {tables} tables, \
                 {memtable_edges} edge records in its memtable, a {mib:.0} MiB region)"
            )
        }
        _ => String::new(),
    }
}

/// The workloads criterion sampled: median and p99 per system. A workload this run did not
/// measure keeps its section from the previous RESULTS.md (a partial run, `KAUSAL_BENCH_ONLY`).
fn write_sampled(
    criterion: &Path,
    previous: &str,
    markdown: &mut String,
    ratios: &mut Vec<RatioRow>,
    kept: &mut Vec<String>,
) {
    for (workload, what) in WORKLOADS {
        let group = criterion.join(format!("peers_{workload}"));
        let Some(ours) = timing(&group.join("kausaldb")) else {
            keep_section(previous, workload, markdown, ratios, kept);
            continue;
        };
        let note =
            if workload.ends_with("_tables") { tables_note(criterion) } else { String::new() };
        let _ = writeln!(markdown, "## {workload}\n\n{what}{note}.\n");
        let _ = writeln!(markdown, "| system | median | p99 | ratio |\n|---|---|---|---|");
        let mut row = Vec::new();
        for system in SYSTEMS.into_iter().chain(EXTRA_ROWS) {
            let Some(time) = timing(&group.join(system)) else {
                continue;
            };
            let ratio = time.median_ns / ours.median_ns;
            let _ = writeln!(
                markdown,
                "| {system} | {} | {} | {ratio:.2} |",
                human(time.median_ns),
                human(time.p99_ns)
            );
            if system != "kausaldb" && !EXTRA_ROWS.contains(&system) {
                row.push((system, ratio));
            }
        }
        markdown.push('\n');
        ratios.push((workload.to_string(), row));
    }
}

/// The workloads measured as whole runs (`WHOLE_RUNS`).
fn write_whole_runs(
    criterion: &Path,
    previous: &str,
    markdown: &mut String,
    ratios: &mut Vec<RatioRow>,
    kept: &mut Vec<String>,
) {
    for (file, workload, what) in WHOLE_RUNS {
        let Ok(text) = std::fs::read_to_string(criterion.join(file)) else {
            keep_section(previous, workload, markdown, ratios, kept);
            continue;
        };
        let rows: Vec<(String, f64, f64)> = text
            .lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                Some((
                    fields.first()?.to_string(),
                    fields.get(1)?.parse().ok()?,
                    fields.get(2)?.parse().ok()?,
                ))
            })
            .collect();
        let Some(ours) = rows.iter().find(|row| row.0 == "kausaldb").map(|row| row.1) else {
            continue;
        };
        let _ = writeln!(markdown, "## {workload}\n\n{what}.\n");
        let _ = writeln!(markdown, "| system | median | largest | ratio |\n|---|---|---|---|");
        let mut row = Vec::new();
        for (system, median, max) in &rows {
            let ratio = median / ours;
            let _ = writeln!(
                markdown,
                "| {system} | {} | {} | {ratio:.2} |",
                human(*median),
                human(*max)
            );
            if let Some(name) =
                SYSTEMS.iter().find(|name| **name == system.as_str() && **name != "kausaldb")
            {
                row.push((*name, ratio));
            }
        }
        markdown.push('\n');
        ratios.push((workload.to_string(), row));
    }
}

/// Peak memory per system, if the benchmark measured it.
fn write_memory(criterion: &Path, previous: &str, markdown: &mut String) {
    let Ok(memory) = std::fs::read_to_string(criterion.join("peers-memory.tsv")) else {
        if let Some(section) = previous_section(previous, "Memory for the 100k-block graph") {
            markdown.push_str(section);
        }
        return;
    };
    {
        let _ = writeln!(
            markdown,
            "## Memory for the 100k-block graph\n\nEach system alone in a child process: \
             the growth of its peak resident set (VmHWM) over the resident set before it \
             opened, while it loaded the graph and answered 64 traversals. For the peers \
             this includes their caches and the touched pages of their memory maps (LMDB); \
             for KausalDB, the touched pages of its region (all it allocates) and of its \
             memory-mapped tables.\n\n| system | peak RSS growth | region |\n|---|---|---|"
        );
        for line in memory.lines().skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            if let [system, rss, region] = fields[..] {
                let mib = |text: &str| text.parse::<f64>().map_or(0.0, |bytes| bytes / 1048576.0);
                let region =
                    if mib(region) > 0.0 { format!("{:.1} MiB", mib(region)) } else { "-".into() };
                let _ = writeln!(markdown, "| {system} | {:.1} MiB | {region} |", mib(rss));
            }
        }
    }
}

/// Horizontal bars of log10(ratio) per workload and peer; the centre line is parity.
fn chart(ratios: &[(String, Vec<(&str, f64)>)]) -> String {
    const COLOURS: [&str; 4] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];
    let (label_width, plot_width, bar_height) = (190.0, 560.0, 9.0);
    let row_height = bar_height * 4.0 + 10.0;
    let height = 60.0 + row_height * ratios.len() as f64;
    let centre = label_width + plot_width / 2.0;
    // The axis spans 1/1000x .. 1000x.
    let x = |ratio: f64| centre + ratio.clamp(1e-3, 1e3).log10() / 3.0 * (plot_width / 2.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" \
         fill=\"white\"/>\n<text x=\"10\" y=\"18\" font-size=\"13\">Peer time / KausalDB time \
         (log scale; right of the line: KausalDB is faster)</text>\n",
        label_width + plot_width + 20.0
    );
    for (index, system) in ["sqlite", "lmdb", "redb", "fjall"].iter().enumerate() {
        let left = 10.0 + index as f64 * 90.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{left}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" \
             y=\"37\">{system}</text>",
            COLOURS[index],
            left + 14.0
        );
    }
    for tick in [1e-2, 1e-1, 1.0, 10.0, 100.0] {
        let _ = writeln!(
            svg,
            "<line x1=\"{0}\" x2=\"{0}\" y1=\"45\" y2=\"{1}\" stroke=\"{2}\"/><text x=\"{0}\" \
             y=\"{3}\" text-anchor=\"middle\">{tick}x</text>",
            x(tick),
            height - 12.0,
            if tick == 1.0 { "#000" } else { "#ddd" },
            height - 2.0
        );
    }
    for (row, (workload, bars)) in ratios.iter().enumerate() {
        let top = 50.0 + row as f64 * row_height;
        let _ = writeln!(svg, "<text x=\"10\" y=\"{}\">{workload}</text>", top + row_height / 2.0);
        for (system, ratio) in bars {
            let colour = ["sqlite", "lmdb", "redb", "fjall"]
                .iter()
                .position(|name| name == system)
                .map_or("#999", |i| COLOURS[i]);
            let slot =
                ["sqlite", "lmdb", "redb", "fjall"].iter().position(|n| n == system).unwrap_or(0);
            let y = top + slot as f64 * bar_height;
            let (left, right) =
                if *ratio >= 1.0 { (centre, x(*ratio)) } else { (x(*ratio), centre) };
            let _ = writeln!(
                svg,
                "<rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
                 fill=\"{colour}\"><title>{system}: {ratio:.2}x</title></rect>",
                (right - left).max(1.0),
                bar_height - 1.0
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREVIOUS: &str = "# title\n\n## block_read_hot\n\nget.\n\n| system | median | p99 | \
                            ratio |\n|---|---|---|---|\n| kausaldb | 13 ns | 16 ns | 1.00 |\n| \
                            lmdb | 278 ns | 300 ns | 22.00 |\n\n## block_read_missing\n\nx.\n";

    #[test]
    fn a_workload_this_run_did_not_measure_keeps_its_section_and_ratios() {
        let (mut markdown, mut ratios, mut kept) = (String::new(), Vec::new(), Vec::new());
        keep_section(PREVIOUS, "block_read_hot", &mut markdown, &mut ratios, &mut kept);
        assert!(markdown.starts_with("## block_read_hot\n") && markdown.ends_with("|\n\n"));
        assert!(!markdown.contains("block_read_missing"), "{markdown}");
        assert_eq!(ratios, vec![("block_read_hot".to_string(), vec![("lmdb", 22.0)])]);
        assert_eq!(kept, vec!["block_read_hot".to_string()]);
        keep_section(PREVIOUS, "block_read_missing", &mut markdown, &mut ratios, &mut kept);
        assert!(markdown.ends_with("## block_read_missing\n\nx.\n"), "{markdown}");
        keep_section(PREVIOUS, "edge_insert", &mut markdown, &mut ratios, &mut kept);
        assert_eq!(kept.len(), 2, "a section the previous run lacks is not invented");
    }
}
