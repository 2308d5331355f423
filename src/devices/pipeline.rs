//! Bytes from one reader to classified reads: framing, parsing and classification in one
//! place, without I/O, so the supervisor only moves bytes and the clock.

use std::sync::Arc;

use cardreader::wedge::InputEvent;
use cardreader::{
    ClassifiedRead, Classifier, LineDecoder, RawRead, SwipeAssembler, TrackData, WedgeDecoder,
    parse_scan, parse_swipe,
};

use super::spec::{ReaderKind, ReaderSpec};

/// What one chunk of input produced.
#[derive(Debug)]
pub(crate) enum Output {
    /// A classified read.
    Read(ClassifiedRead),
    /// A line that was not a valid read; the message holds no card data.
    Rejected(String),
}

enum Framing {
    Lines(LineDecoder),
    Wedge(WedgeDecoder),
}

/// Turns a reader's bytes (or wedge events) into [`Output`]s.
pub(crate) struct Pipeline {
    spec_kind: ReaderKind,
    lrc: cardreader::LrcMode,
    scanner: cardreader::ScannerFormat,
    classifier: Arc<Classifier>,
    framing: Framing,
    assembler: SwipeAssembler,
}

impl Pipeline {
    pub(crate) fn new(spec: &ReaderSpec, classifier: Arc<Classifier>) -> Self {
        let framing = match spec.kind {
            ReaderKind::HidWedge => {
                Framing::Wedge(WedgeDecoder::new(cardreader::line::DEFAULT_MAX_LINE))
            }
            ReaderKind::SerialMsr | ReaderKind::SerialScanner => {
                Framing::Lines(LineDecoder::default())
            }
        };
        Self {
            spec_kind: spec.kind,
            lrc: spec.lrc,
            scanner: spec.scanner.clone(),
            classifier,
            framing,
            assembler: SwipeAssembler::new(),
        }
    }

    /// Feeds bytes from a serial port.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> Vec<Output> {
        let lines: Vec<Result<TrackData, String>> = match &mut self.framing {
            Framing::Lines(decoder) => decoder
                .push(bytes)
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect(),
            Framing::Wedge(decoder) => decoder
                .push_bytes(bytes)
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect(),
        };
        self.lines(lines)
    }

    /// Feeds one evdev event from a wedge.
    pub(crate) fn push_event(&mut self, event: &InputEvent) -> Vec<Output> {
        let line = match &mut self.framing {
            Framing::Wedge(decoder) => decoder
                .push_event(event)
                .map(|r| r.map_err(|e| e.to_string())),
            Framing::Lines(_) => None,
        };
        self.lines(line.into_iter().collect())
    }

    /// Whether a multi-line swipe is waiting for more tracks (then call
    /// [`Pipeline::flush`] once the reader has been idle).
    pub(crate) fn is_pending(&self) -> bool {
        self.assembler.is_pending()
    }

    /// Ends a pending swipe after the reader went idle.
    pub(crate) fn flush(&mut self) -> Vec<Output> {
        self.assembler
            .flush()
            .map(|swipe| self.classify(RawRead::Swipe(swipe)))
            .into_iter()
            .collect()
    }

    /// Drops partial input (the device went away).
    pub(crate) fn reset(&mut self) {
        match &mut self.framing {
            Framing::Lines(decoder) => decoder.reset(),
            Framing::Wedge(decoder) => decoder.reset(),
        }
        // A half-assembled swipe from before the unplug is not a read.
        let _ = self.assembler.flush();
    }

    fn lines(&mut self, lines: Vec<Result<TrackData, String>>) -> Vec<Output> {
        let mut out = Vec::new();
        for line in lines {
            match line {
                Ok(line) => self.line(&line, &mut out),
                Err(error) => out.push(Output::Rejected(error)),
            }
        }
        out
    }

    fn line(&mut self, line: &TrackData, out: &mut Vec<Output>) {
        let bytes = line.expose();
        let swipe_like = matches!(bytes.first(), Some(b'%' | b';' | b'+'));
        let as_swipe = match self.spec_kind {
            ReaderKind::SerialMsr => true,
            ReaderKind::SerialScanner => false,
            // A wedge MSR types tracks, a wedge scanner types codes.
            ReaderKind::HidWedge => swipe_like,
        };
        if as_swipe {
            match parse_swipe(bytes, self.lrc) {
                Ok(swipe) => {
                    if let Some(done) = self.assembler.push(swipe) {
                        out.push(self.classify(RawRead::Swipe(done)));
                    }
                }
                Err(error) => out.push(Output::Rejected(error.to_string())),
            }
        } else {
            match parse_scan(bytes, &self.scanner) {
                Ok(code) => out.push(self.classify(RawRead::Scan(code))),
                Err(error) => out.push(Output::Rejected(error.to_string())),
            }
        }
    }

    fn classify(&self, read: RawRead) -> Output {
        Output::Read(self.classifier.classify(read))
    }
}

#[cfg(test)]
mod tests {
    use cardreader::{ClassifierConfig, ReadSource};

    use super::*;
    use crate::devices::spec::DeviceLocator;

    fn pipeline(kind: ReaderKind) -> Pipeline {
        let classifier = Classifier::new(ClassifierConfig {
            gift_prefixes: vec!["603600".into()],
            ..ClassifierConfig::default()
        })
        .unwrap();
        Pipeline::new(
            &ReaderSpec::new("r", kind, DeviceLocator::Path("/dev/null".into())),
            Arc::new(classifier),
        )
    }

    fn kinds(outputs: &[Output]) -> Vec<String> {
        outputs
            .iter()
            .map(|o| match o {
                Output::Read(read) => read.kind().to_owned(),
                Output::Rejected(_) => "rejected".to_owned(),
            })
            .collect()
    }

    #[test]
    fn msr_lines_become_reads_after_idle_flush() {
        let mut p = pipeline(ReaderKind::SerialMsr);
        assert!(p.push_bytes(b";6036001234567890=4912?\r\n").is_empty());
        assert!(p.is_pending());
        assert_eq!(kinds(&p.flush()), vec!["gift-card"]);
        assert_eq!(
            kinds(&p.push_bytes(b"garbage\r\n;60360012")),
            vec!["rejected"]
        );
        p.reset();
        assert_eq!(
            kinds(&p.push_bytes(b"34567890=4912?\r\n")),
            vec!["rejected"],
            "a half line after reset is garbage"
        );
    }

    #[test]
    fn scanner_lines_are_codes() {
        let mut p = pipeline(ReaderKind::SerialScanner);
        let out = p.push_bytes(b"6036001234567890\r\n4111111111111111\r\nHELLO\nHI THERE\n");
        assert_eq!(
            kinds(&out),
            vec!["gift-card", "payment-card", "item-code", "unknown"]
        );
        match &out[0] {
            Output::Read(read) => assert_eq!(read.source(), ReadSource::Scan),
            Output::Rejected(_) => unreachable!(),
        }
    }

    #[test]
    fn wedge_events_become_reads() {
        let mut p = pipeline(ReaderKind::HidWedge);
        let mut out = Vec::new();
        for event in cardreader::wedge::type_text(";6036001234567890=4912?", 0) {
            out.extend(p.push_event(&event));
        }
        out.extend(p.flush());
        for event in cardreader::wedge::type_text("6036001234567890", 1) {
            out.extend(p.push_event(&event));
        }
        assert_eq!(kinds(&out), vec!["gift-card", "gift-card"]);
    }
}
