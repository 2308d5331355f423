//! Byte fixtures for every message the simulated terminal sends (issue 14 item 7).
//!
//! A raw ECR (no driver, no codec) talks to the simulator over real TCP and compares each
//! APDU with the exact bytes that `zvt.md` §5/§6 allow for it: Completion after each
//! command, Status Information, Abort, Intermediate Status, Print Line, the answers to
//! Display Text / Numeric Input / Read Card, End of Day. `??` in a fixture is a byte that
//! depends on the wall clock (BMP 0C time, 0D date); everything else must match exactly.

use std::time::Duration;

use hardware_sim::terminal::{Outcome, SimTerminal, SimTerminalConfig, Step, StepOn};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const REGISTRATION_COMPLETION: &str = "06 0F 08 29 52 50 00 01 49 09 78";
/// 0C time and 0D date follow the trace number in every 04 0F of a transaction.
const CLOCK: &str = "0C ?? ?? ?? 0D ?? ??";
/// BMP 22 of the default test card 6799998900000000019, masked to its last 4 (E nibbles).
const MASKED_PAN: &str = "22 F1 F0 EE EE EE EE EE EE EE E0 01 9F";
const TID: &str = "29 52 50 00 01";
const CARD: &str = "8A 05 8B F0 F8 67 69 72 6F 63 61 72 64";

struct RawEcr {
    tcp: TcpStream,
}

fn parse_hex(s: &str) -> Vec<Option<u8>> {
    s.split_whitespace()
        .map(|t| match t {
            "??" => None,
            t => Some(u8::from_str_radix(t, 16).expect("hex byte in fixture")),
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl RawEcr {
    async fn send(&mut self, apdu: &str) {
        let bytes: Vec<u8> = parse_hex(apdu).into_iter().map(Option::unwrap).collect();
        self.tcp.write_all(&bytes).await.unwrap();
    }

    /// Reads one APDU as zvt.md §4 says: 3 bytes, 2 more after an `FF` length, the body.
    async fn recv(&mut self) -> Vec<u8> {
        tokio::time::timeout(Duration::from_secs(5), async {
            let mut head = [0u8; 3];
            self.tcp.read_exact(&mut head).await.unwrap();
            let mut apdu = head.to_vec();
            let len = if head[2] == 0xFF {
                let mut l = [0u8; 2];
                self.tcp.read_exact(&mut l).await.unwrap();
                apdu.extend(l);
                usize::from(u16::from_le_bytes(l))
            } else {
                usize::from(head[2])
            };
            let mut body = vec![0u8; len];
            self.tcp.read_exact(&mut body).await.unwrap();
            apdu.extend(body);
            apdu
        })
        .await
        .expect("an APDU from the simulator within 5 s")
    }

    /// Receives one APDU, checks it against `fixture` byte for byte and, when the PT sent it
    /// as master (anything but `80`/`84`), acknowledges it with `80 00 00`.
    async fn expect(&mut self, fixture: &str) {
        let got = self.recv().await;
        let want = parse_hex(fixture);
        let matches = got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|(g, w)| w.is_none_or(|w| w == *g));
        assert!(matches, "\nwant {fixture}\ngot  {}", hex(&got));
        if got[0] != 0x80 && got[0] != 0x84 {
            self.tcp.write_all(&[0x80, 0x00, 0x00]).await.unwrap();
        }
    }

    async fn expect_receipt(&mut self, lines: &[&str]) {
        for (i, line) in lines.iter().enumerate() {
            let attribute = if i + 1 == lines.len() { "FF" } else { "00" };
            let text: Vec<String> = line.bytes().map(|b| format!("{b:02X}")).collect();
            let fixture = format!(
                "06 D1 {:02X} {attribute} {}",
                line.len() + 1,
                text.join(" ")
            );
            self.expect(&fixture).await;
        }
    }
}

/// Builds an APDU fixture from its control field and body fields, computing the length.
fn apdu(control: &str, fields: &[&str]) -> String {
    let body = fields.join(" ");
    let n = body.split_whitespace().count();
    assert!(n < 0xFF, "short length only in these fixtures");
    format!("{control} {n:02X} {body}")
}

#[tokio::test]
async fn every_message_the_simulated_terminal_sends_is_byte_exact() {
    let config = SimTerminalConfig {
        password: "123456".into(),
        ..SimTerminalConfig::default()
    };
    let sim = SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let control = sim.control();
    let mut ecr = RawEcr {
        tcp: TcpStream::connect(sim.addr().unwrap()).await.unwrap(),
    };

    // Not registered: refused with 84 6B 00.
    ecr.send("06 01 07 04 00 00 00 00 12 34").await;
    ecr.expect("84 6B 00").await;

    // Registration with a wrong password: 06 1E with the result code only.
    ecr.send("06 00 06 99 99 99 BA 09 78").await;
    ecr.expect("80 00 00").await;
    ecr.expect("06 1E 01 83").await;

    // Registration (config BA: ECR prints, intermediate status): 06 0F with 29 and 49 only,
    // no BMP 27.
    ecr.send("06 00 06 12 34 56 BA 09 78").await;
    ecr.expect("80 00 00").await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // Authorization 12.34, approved.
    ecr.send("06 01 07 04 00 00 00 00 12 34").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0A").await;
    ecr.expect("04 FF 01 04").await;
    let approved = [
        "27 00",
        "04 00 00 00 00 12 34",
        "0B 00 00 01",
        CLOCK,
        MASKED_PAN,
        TID,
        "87 00 01",
        CARD,
    ];
    ecr.expect(&apdu("04 0F", &approved)).await;
    let payment_receipt = [
        "HWSIM TEST TERMINAL",
        "PAYMENT",
        "Card girocard ***************0019",
        "Receipt 0001 Trace 000001",
        "EUR 12.34",
        "APPROVED",
    ];
    ecr.expect_receipt(&payment_receipt).await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // Authorization 5.00, declined 05: 04 0F with 27 05, then 06 1E carrying 87.
    control.set_next_outcome(Outcome::Decline { code: 0x05 });
    ecr.send("06 01 07 04 00 00 00 00 05 00").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0A").await;
    ecr.expect("04 FF 01 04").await;
    let declined = [
        "27 05",
        "04 00 00 00 00 05 00",
        "0B 00 00 02",
        CLOCK,
        MASKED_PAN,
        TID,
        "87 00 02",
        CARD,
    ];
    ecr.expect(&apdu("04 0F", &declined)).await;
    ecr.expect_receipt(&[
        "HWSIM TEST TERMINAL",
        "PAYMENT",
        "Card girocard ***************0019",
        "Receipt 0002 Trace 000002",
        "EUR 0",
        "DECLINED 05",
    ])
    .await;
    ecr.expect("06 1E 04 05 87 00 02").await;

    // Reversal of receipt 1.
    ecr.send("06 30 06 12 34 56 87 00 01").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0E").await;
    let reversed = [
        "27 00",
        "04 00 00 00 00 12 34",
        "0B 00 00 03",
        CLOCK,
        MASKED_PAN,
        TID,
        "87 00 03",
        CARD,
    ];
    ecr.expect(&apdu("04 0F", &reversed)).await;
    ecr.expect_receipt(&[
        "HWSIM TEST TERMINAL",
        "REVERSAL",
        "Card girocard ***************0019",
        "Receipt 0003 Trace 000003",
        "EUR 12.34",
        "APPROVED",
    ])
    .await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // Reversal of it again: 06 1E B4 with the receipt.
    ecr.send("06 30 06 12 34 56 87 00 01").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0E").await;
    ecr.expect("06 1E 04 B4 87 00 01").await;

    // Reservation 50.00.
    ecr.send("06 22 07 04 00 00 00 00 50 00").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0A").await;
    ecr.expect("04 FF 01 04").await;
    let reservation = [
        "27 00",
        "04 00 00 00 00 50 00",
        "0B 00 00 04",
        CLOCK,
        MASKED_PAN,
        TID,
        "87 00 04",
        CARD,
    ];
    ecr.expect(&apdu("04 0F", &reservation)).await;
    ecr.expect_receipt(&[
        "HWSIM TEST TERMINAL",
        "RESERVATION",
        "Card girocard ***************0019",
        "Receipt 0004 Trace 000004",
        "EUR 50.00",
        "APPROVED",
    ])
    .await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // List open reservations (06 23 87 FF FF): one 04 0F per open reservation.
    ecr.send("06 23 03 87 FF FF").await;
    ecr.expect("80 00 00").await;
    ecr.expect(&apdu("04 0F", &reservation)).await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // Book Total of an unknown receipt: 06 1E B8 with the receipt.
    ecr.send("06 24 0A 87 00 99 04 00 00 00 00 42 00").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0E").await;
    ecr.expect("06 1E 04 B8 87 00 99").await;

    // Book Total 42.00 of receipt 4.
    ecr.send("06 24 0A 87 00 04 04 00 00 00 00 42 00").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0E").await;
    let booked = [
        "27 00",
        "04 00 00 00 00 42 00",
        "0B 00 00 05",
        CLOCK,
        MASKED_PAN,
        TID,
        "87 00 05",
        CARD,
    ];
    ecr.expect(&apdu("04 0F", &booked)).await;
    let booking_receipt = [
        "HWSIM TEST TERMINAL",
        "BOOKTOTAL",
        "Card girocard ***************0019",
        "Receipt 0005 Trace 000005",
        "EUR 42.00",
        "APPROVED",
    ];
    ecr.expect_receipt(&booking_receipt).await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // Repeat Receipt: the last transaction again.
    ecr.send("06 20 03 12 34 56").await;
    ecr.expect("80 00 00").await;
    ecr.expect(&apdu("04 0F", &booked)).await;
    ecr.expect_receipt(&booking_receipt).await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // Status Enquiry: 06 0F with software version (LLLVAR) and terminal status only.
    ecr.send("05 01 00").await;
    ecr.expect("80 00 00").await;
    ecr.expect("06 0F 10 F0 F1 F2 48 57 53 49 4D 2D 50 54 20 31 2E 30 00")
        .await;

    // Display Text: the acknowledgement is the whole answer.
    ecr.send("06 E0 07 F0 05 F1 F0 F2 48 69").await;
    ecr.expect("80 00 00").await;

    // Numeric input, typed 4711: 06 0F with 29, 49 and the digits in 3C.
    control.push_step(Step {
        on: StepOn::Input,
        input: Some("4711".into()),
        ..Step::default()
    });
    ecr.send("06 E2 0B F1 F0 F4 50 49 4E 3F E0 04 E9 06").await;
    ecr.expect("80 00 00").await;
    ecr.expect("06 0F 10 29 52 50 00 01 49 09 78 3C F0 F0 F4 34 37 31 31")
        .await;

    // Numeric input nobody answers (default: cancel): 06 1E 6C.
    ecr.send("06 E2 0B F1 F0 F4 50 49 4E 3F E0 04 E9 06").await;
    ecr.expect("80 00 00").await;
    ecr.expect("06 1E 01 6C").await;

    // Read Card: 04 FF, then the 04 0F with 27, track 2 (23) and card type ends it.
    ecr.send("06 C0 01 1E").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0A").await;
    ecr.expect("04 0F 13 27 00 23 F1 F2 62 80 00 12 34 56 78 90 12 3D 49 12 8A 05")
        .await;

    // End of Day: 04 0F with 27, 04, 29 and the totals in 60, receipt, 06 0F.
    ecr.send("06 50 03 12 34 56").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0E").await;
    let totals = [
        "27 00",
        "04 00 00 00 00 92 00",
        TID,
        "60 F0 F1 F1 00 01 00 05 02 00 00 00 00 92 00",
    ];
    ecr.expect(&apdu("04 0F", &totals)).await;
    ecr.expect_receipt(&["END OF DAY", "Transactions 2", "Total EUR 92.00"])
        .await;
    ecr.expect(REGISTRATION_COMPLETION).await;

    // An unsupported command: 84 83 00.
    ecr.send("06 93 00").await;
    ecr.expect("84 83 00").await;
}

/// A lane registered in USD: the completion echoes `49 08 40`, amounts in USD run, an amount
/// in another currency is refused with 6F, and a Refund (06 31) is journalled as a refund
/// and printed with the masked card.
#[tokio::test]
async fn a_usd_lane_and_a_refund_are_byte_exact() {
    const USD_COMPLETION: &str = "06 0F 08 29 52 50 00 01 49 08 40";
    let config = SimTerminalConfig {
        password: "123456".into(),
        ..SimTerminalConfig::default()
    };
    let sim = SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let control = sim.control();
    let mut ecr = RawEcr {
        tcp: TcpStream::connect(sim.addr().unwrap()).await.unwrap(),
    };

    ecr.send("06 00 06 12 34 56 BA 08 40").await;
    ecr.expect("80 00 00").await;
    ecr.expect(USD_COMPLETION).await;

    // Authorization 12.34 USD.
    ecr.send("06 01 0A 04 00 00 00 00 12 34 49 08 40").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0A").await;
    ecr.expect("04 FF 01 04").await;
    let approved = [
        "27 00",
        "04 00 00 00 00 12 34",
        "0B 00 00 01",
        CLOCK,
        MASKED_PAN,
        TID,
        "87 00 01",
        CARD,
    ];
    ecr.expect(&apdu("04 0F", &approved)).await;
    ecr.expect_receipt(&[
        "HWSIM TEST TERMINAL",
        "PAYMENT",
        "Card girocard ***************0019",
        "Receipt 0001 Trace 000001",
        "USD 12.34",
        "APPROVED",
    ])
    .await;
    ecr.expect(USD_COMPLETION).await;

    // The same amount in EUR on a USD registration: 06 1E 6F (wrong currency), nothing runs.
    ecr.send("06 01 0A 04 00 00 00 00 12 34 49 09 78").await;
    ecr.expect("80 00 00").await;
    ecr.expect("06 1E 01 6F").await;

    // Refund 5.00 USD: password, 04, 49.
    ecr.send("06 31 0D 12 34 56 04 00 00 00 00 05 00 49 08 40")
        .await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0A").await;
    ecr.expect("04 FF 01 04").await;
    let refunded = [
        "27 00",
        "04 00 00 00 00 05 00",
        "0B 00 00 02",
        CLOCK,
        MASKED_PAN,
        TID,
        "87 00 02",
        CARD,
    ];
    ecr.expect(&apdu("04 0F", &refunded)).await;
    ecr.expect_receipt(&[
        "HWSIM TEST TERMINAL",
        "REFUND",
        "Card girocard ***************0019",
        "Receipt 0002 Trace 000002",
        "USD 5.00",
        "APPROVED",
    ])
    .await;
    ecr.expect(USD_COMPLETION).await;
    let journal = control.journal();
    assert_eq!(
        journal.len(),
        2,
        "the refused EUR payment is not journalled"
    );
    assert_eq!(journal[1].kind, hardware_sim::terminal::TxKind::Refund);
    assert_eq!(journal[1].amount, rust_decimal::Decimal::new(500, 2));

    // Refund with a wrong password: 06 1E 83.
    ecr.send("06 31 0A 99 99 99 04 00 00 00 00 05 00").await;
    ecr.expect("80 00 00").await;
    ecr.expect("06 1E 01 83").await;

    // End of day: the charges only, in USD.
    ecr.send("06 50 03 12 34 56").await;
    ecr.expect("80 00 00").await;
    ecr.expect("04 FF 01 0E").await;
    let totals = [
        "27 00",
        "04 00 00 00 00 12 34",
        TID,
        "60 F0 F1 F1 00 01 00 02 01 00 00 00 00 12 34",
    ];
    ecr.expect(&apdu("04 0F", &totals)).await;
    ecr.expect_receipt(&["END OF DAY", "Transactions 1", "Total USD 12.34"])
        .await;
    ecr.expect(USD_COMPLETION).await;
}
