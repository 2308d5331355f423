//! Measures reader hot-plug against reliability.md P5.1 on real pseudo-terminals:
//! unplug noticed (< 1 s), read again after replug (< 3 s), CPU and polls while away (< 1 %).
//!
//! `cargo run --example hotplug_bench [CYCLES]` (default 10).

use std::time::{Duration, Instant};

use cardreader::{ClassifiedRead, Classifier, ClassifierConfig};
use hardware_sim::reader::{SimReader, SimReaderConfig, cards};
use lane_agent::devices::{
    DeviceEvent, DeviceLocator, DeviceRegistry, DeviceState, ReaderKind, ReaderSpec,
    SupervisorOptions,
};
use tokio::sync::broadcast::Receiver;

const AWAY: Duration = Duration::from_secs(2);

async fn wait_for(
    events: &mut Receiver<DeviceEvent>,
    want: impl Fn(&DeviceEvent) -> bool,
) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if want(&events.recv().await?) {
                return anyhow::Ok(());
            }
        }
    })
    .await?
}

fn is_state(event: &DeviceEvent, wanted: DeviceState) -> bool {
    matches!(event, DeviceEvent::StateChanged { state, .. } if *state == wanted)
}

fn cpu_time() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).unwrap_or(&"0").parse::<u64>()?
        + fields.get(12).unwrap_or(&"0").parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 10))
}

fn summary(name: &str, target: &str, mut values: Vec<Duration>) {
    values.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} min {:>8.1} ms  median {:>8.1} ms  max {:>8.1} ms  (target {target})",
        ms(values[0]),
        ms(values[values.len() / 2]),
        ms(values[values.len() - 1])
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cycles: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10)
        .max(1);
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("msr");
    let mut sim = SimReader::start(&link, SimReaderConfig::default()).await?;
    let classifier = Classifier::new(ClassifierConfig {
        gift_prefixes: vec!["603600".into()],
        ..ClassifierConfig::default()
    })?;
    let registry = DeviceRegistry::new(classifier, SupervisorOptions::default());
    let mut events = registry.subscribe();
    registry.spawn_reader(ReaderSpec::new(
        "msr",
        ReaderKind::SerialMsr,
        DeviceLocator::Path(link.clone()),
    ))?;
    wait_for(&mut events, |e| is_state(e, DeviceState::Up)).await?;

    let (mut down, mut up, mut first_read, mut polls) = (vec![], vec![], vec![], vec![]);
    let mut cpu_share: Vec<f64> = vec![];
    for cycle in 0..cycles {
        let start = Instant::now();
        sim.unplug().await?;
        wait_for(&mut events, |e| is_state(e, DeviceState::Down)).await?;
        down.push(start.elapsed());

        let attempts = registry.snapshot()[0].open_attempts;
        let cpu = cpu_time()?;
        let away_start = Instant::now();
        // Vary the time away so replugs land at different phases of the 250 ms poll.
        tokio::time::sleep(AWAY + Duration::from_millis((cycle as u64 * 53) % 250)).await;
        let away = away_start.elapsed();
        cpu_share.push((cpu_time()? - cpu).as_secs_f64() / away.as_secs_f64() * 100.0);
        polls.push(registry.snapshot()[0].open_attempts - attempts);

        let start = Instant::now();
        sim.replug().await?;
        wait_for(&mut events, |e| is_state(e, DeviceState::Up)).await?;
        up.push(start.elapsed());
        sim.swipe(&cards::gift_card_tracks("6036001234567890"))
            .await?;
        wait_for(&mut events, |e| {
            matches!(
                e,
                DeviceEvent::Read {
                    read: ClassifiedRead::GiftCard { .. },
                    ..
                }
            )
        })
        .await?;
        first_read.push(start.elapsed());
    }
    registry.shutdown(Duration::from_secs(2)).await;

    println!("reader hot-plug over a pty, {cycles} cycles");
    summary("unplug -> down", "< 1000 ms", down);
    summary("replug -> up", "< 3000 ms", up);
    summary("replug -> first read", "< 3000 ms", first_read);
    let max_percent = cpu_share.iter().copied().fold(0.0, f64::max);
    let mean_percent = cpu_share.iter().sum::<f64>() / cpu_share.len() as f64;
    println!(
        "CPU while away ({AWAY:?} each)    mean {mean_percent:.2} %  max {max_percent:.2} % of one core, whole process (target < 1 %)"
    );
    println!(
        "open attempts while away      min {}  max {} per {AWAY:?} (poll capped at 250 ms)",
        polls.iter().min().unwrap_or(&0),
        polls.iter().max().unwrap_or(&0)
    );
    Ok(())
}
