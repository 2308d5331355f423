//! The cashier screens reach a real (simulated) ZVT terminal over TCP: the gift-card amount,
//! the approval with balance and what is still due, and a decline in plain words, each shown
//! through `cashier::show` (display text, 06 E0) without the caller waiting on it.

use std::sync::Arc;
use std::time::Duration;

use hardware_sim::terminal::{SimEvent, SimTerminal, SimTerminalConfig};
use lane_agent::agent::ZvtTerminal;
use lane_agent::agent::cashier;
use lane_agent::engine::{PaymentAnswer, PaymentStatus};
use lane_agent::store::Money;
use rust_decimal::dec;
use tokio::sync::broadcast;
use zvt::transport::TransportConfig;

const WAIT: Duration = Duration::from_secs(20);

/// Waits for the terminal to display exactly `lines`.
async fn shown(events: &mut broadcast::Receiver<SimEvent>, lines: &[&str]) {
    let want: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(SimEvent::Display(got)) if got == want => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("terminal stopped"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("terminal never displayed {want:?}"));
}

fn answer(status: PaymentStatus, reason: Option<&str>) -> PaymentAnswer {
    PaymentAnswer {
        payment_id: "pay-1".into(),
        status,
        approved_amount: Money::from(if reason.is_some() { dec!(0) } else { dec!(12) }),
        balance: reason.is_none().then(|| Money::from(dec!(0))),
        reason: reason.map(str::to_owned),
        due: Money::from(dec!(18)),
    }
}

#[tokio::test]
async fn gift_card_screens_appear_on_the_terminal() {
    let sim = SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
        .await
        .unwrap();
    let control = sim.control();
    let mut events = control.subscribe();
    let config = TransportConfig::tcp(sim.addr().unwrap().to_string());
    let terminal = Arc::new(ZvtTerminal::new(config, None).unwrap());

    cashier::show(
        Arc::clone(&terminal),
        cashier::processing(Money::from(dec!(12)), Some("GC-7000-1111-2222-4321")),
    );
    shown(&mut events, &["Gift card ****4321", "Amount 12.00"]).await;

    cashier::show(
        Arc::clone(&terminal),
        cashier::result(&answer(PaymentStatus::Approved, None)),
    );
    shown(
        &mut events,
        &["Approved 12.00", "Balance 0.00", "Still due 18.00"],
    )
    .await;

    cashier::show(
        Arc::clone(&terminal),
        cashier::result(&answer(PaymentStatus::Declined, Some("code_expired"))),
    );
    shown(&mut events, &["Declined", "Card expired"]).await;

    // The full code never reached the terminal.
    assert!(
        control
            .displays()
            .iter()
            .flatten()
            .all(|l| !l.contains("7000") && !l.contains("2222")),
        "{:?}",
        control.displays()
    );
    sim.stop();
}
