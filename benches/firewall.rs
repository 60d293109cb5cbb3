//! How long the firewall of root bridge networks takes per operation (each
//! one `nft` run), in a network namespace of the bench's own so that the
//! host's ruleset is never touched. Needs root and nft.
//!
//! usage: cargo bench --bench firewall [-- RUNS]   (default 20; medians,
//! with the fastest and slowest run beside them)

use std::net::IpAddr;
use std::time::{Duration, Instant};

use nix::sched::{unshare, CloneFlags};
use skiff::network::firewall::{self, Isolation, NetworkRules, PortRules};
use skiff::state::container::{PortMapping, Protocol};

fn network(id: &str, bridge: &str, subnet: &str) -> NetworkRules {
    NetworkRules {
        id: id.into(),
        bridge: bridge.into(),
        subnets: vec![subnet.parse().expect("a subnet")],
        internal: false,
        isolation: Isolation::Off,
        dns: true,
    }
}

fn ports(addr: &str, host_port: u16, range: u16) -> PortRules {
    PortRules {
        addrs: vec![addr.parse::<IpAddr>().expect("an address")],
        ports: vec![PortMapping {
            host_ip: String::new(),
            host_port,
            container_port: 80,
            protocol: Protocol::Tcp,
            range,
        }],
    }
}

type Step = (
    &'static str,
    Box<dyn Fn() -> Result<(), firewall::FirewallError>>,
);

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20)
        .max(1);
    let result = std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("no network namespace: {e}"))?;
        let first = network("bench1", "skbench1", "10.99.0.0/24");
        let second = network("bench2", "skbench2", "10.98.0.0/24");
        let one = ports("10.99.0.2", 18080, 1);
        let range = ports("10.99.0.3", 20000, 1000);
        let steps: Vec<Step> = vec![
            ("add_network (creates the table)", {
                let n = first.clone();
                Box::new(move || firewall::add_network(&n))
            }),
            ("add_network (table present)", {
                let n = second.clone();
                Box::new(move || firewall::add_network(&n))
            }),
            ("add_ports (1 port)", {
                let p = one.clone();
                Box::new(move || firewall::add_ports(&p))
            }),
            ("add_ports (1000-port range)", {
                let p = range.clone();
                Box::new(move || firewall::add_ports(&p))
            }),
            (
                "remove_ports (1 port)",
                Box::new(move || firewall::remove_ports(&one)),
            ),
            (
                "remove_ports (1000-port range)",
                Box::new(move || firewall::remove_ports(&range)),
            ),
            (
                "remove_network",
                Box::new(move || firewall::remove_network(&second)),
            ),
            ("remove_table", Box::new(firewall::remove_table)),
        ];
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); steps.len()];
        for _ in 0..runs {
            for ((name, step), t) in steps.iter().zip(&mut times) {
                let start = Instant::now();
                step().map_err(|e| format!("{name}: {e}"))?;
                t.push(start.elapsed());
            }
        }
        Ok::<_, String>(
            steps
                .iter()
                .map(|(name, _)| *name)
                .zip(times)
                .collect::<Vec<_>>(),
        )
    })
    .join()
    .expect("the bench thread panicked");
    let table = match result {
        Ok(t) => t,
        Err(e) => {
            eprintln!("firewall bench: {e}");
            std::process::exit(1);
        }
    };
    println!("{runs} runs, milliseconds: median (fastest-slowest)");
    for (name, mut t) in table {
        t.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:32} {:7.1} ({:.1}-{:.1})",
            ms(t[t.len() / 2]),
            ms(t[0]),
            ms(t[t.len() - 1])
        );
    }
}
