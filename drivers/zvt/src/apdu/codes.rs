//! The spec's code tables: result codes, intermediate status codes and terminal status
//! codes (PA00P015 13.07 ch. 10 "Error messages" and ch. 2.x "Intermediate status").
//!
//! Each table is a `#[repr(u8)]` enum with the spec's text. Bytes outside a table are
//! legal on the wire (for example issuer codes `01`–`63`), so messages keep the raw byte and
//! offer these enums through `from_u8`.

macro_rules! code_table {
    ($(#[$meta:meta])* $name:ident { $($var:ident = $val:literal => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum $name {
            $(#[doc = $text] $var = $val,)*
        }

        impl $name {
            /// Looks up a code byte; `None` for bytes outside the table.
            pub const fn from_u8(code: u8) -> Option<Self> {
                match code {
                    $($val => Some(Self::$var),)*
                    _ => None,
                }
            }

            /// The code byte.
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The spec's text for this code.
            pub const fn text(self) -> &'static str {
                match self {
                    $(Self::$var => $text,)*
                }
            }
        }

        impl TryFrom<u8> for $name {
            type Error = u8;
            fn try_from(code: u8) -> Result<Self, u8> {
                Self::from_u8(code).ok_or(code)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:02X} {}", self.code(), self.text())
            }
        }
    };
}

code_table! {
    /// Result codes of BMP 27, of the 06 1E abort byte and of `84 xx 00`
    /// (PA00P015 13.07 ch. 10, "Error messages").
    ResultCode {
        Success = 0x00 => "no error",
        CardNotReadable = 0x64 => "card not readable (LRC-/parity-error)",
        CardDataNotPresent = 0x65 => "card-data not present (neither track-data nor chip found)",
        ProcessingError = 0x66 => "processing-error (also for problems with card-reader mechanism)",
        NotPermittedEcMaestro = 0x67 => "function not permitted for ec- and Maestro-cards",
        NotPermittedCreditTank = 0x68 => "function not permitted for credit- and tank-cards",
        TurnoverFileFull = 0x6A => "turnover-file full",
        FunctionDeactivated = 0x6B => "function deactivated (PT not registered)",
        AbortTimeoutOrKey = 0x6C => "abort via timeout or abort-key",
        CardInBlockedList = 0x6E => "card in blocked-list",
        WrongCurrency = 0x6F => "wrong currency",
        CreditNotSufficient = 0x71 => "credit not sufficient (chip-card)",
        ChipError = 0x72 => "chip error",
        CardDataIncorrect = 0x73 => "card-data incorrect (e.g. country-key check, checksum-error)",
        DukptExhausted = 0x74 => "DUKPT engine exhausted",
        TextNotAuthentic = 0x75 => "text not authentic",
        PanNotInWhiteList = 0x76 => "PAN not in white list",
        EndOfDayNotPossible = 0x77 => "end-of-day batch not possible",
        CardExpired = 0x78 => "card expired",
        CardNotYetValid = 0x79 => "card not yet valid",
        CardUnknown = 0x7A => "card unknown",
        FallbackGirocardNotPossible = 0x7B => "fallback to magnetic stripe for girocard not possible",
        FallbackNotPossible = 0x7C => "fallback to magnetic stripe not possible",
        CommunicationError = 0x7D => "communication error (communication module does not answer or is not present)",
        FallbackDebitAdvice = 0x7E => "fallback to magnetic stripe not possible, debit advice possible",
        FunctionNotPossible = 0x83 => "function not possible",
        KeyMissing = 0x85 => "key missing",
        PinPadDefective89 = 0x89 => "PIN-pad defective",
        ProtocolError = 0x9A => "ZVT protocol error (e.g. parsing error, mandatory message element missing)",
        DialUpError = 0x9B => "error from dial-up/communication fault",
        PleaseWait = 0x9C => "please wait",
        ReceiverNotReady = 0xA0 => "receiver not ready",
        RemoteNoResponse = 0xA1 => "remote station does not respond",
        NoConnection = 0xA3 => "no connection",
        GeldkarteNotPossible = 0xA4 => "submission of Geldkarte not possible",
        NotAllowedPciDss = 0xA5 => "function not allowed due to PCI-DSS/P2PE rules",
        MemoryFull = 0xB1 => "memory full",
        MerchantJournalFull = 0xB2 => "merchant-journal full",
        AlreadyReversed = 0xB4 => "already reversed",
        ReversalNotPossible = 0xB5 => "reversal not possible",
        PreAuthAmountWrong = 0xB7 => "pre-authorisation incorrect (amount too high) or amount wrong",
        PreAuthError = 0xB8 => "error pre-authorisation",
        VoltageTooLow = 0xBF => "voltage supply too low (external power supply)",
        CardLockDefective = 0xC0 => "card locking mechanism defective",
        MerchantCardLocked = 0xC1 => "merchant-card locked",
        DiagnosisRequired = 0xC2 => "diagnosis required",
        MaximumAmountExceeded = 0xC3 => "maximum amount exceeded",
        CardProfileInvalid = 0xC4 => "card-profile invalid; new card-profiles must be loaded",
        PaymentMethodNotSupported = 0xC5 => "payment method not supported",
        CurrencyNotApplicable = 0xC6 => "currency not applicable",
        AmountTooSmall = 0xC8 => "amount too small",
        MaxTransactionAmountTooSmall = 0xC9 => "max. transaction-amount too small",
        OnlyEuro = 0xCB => "function only allowed in EURO",
        PrinterNotReady = 0xCC => "printer not ready",
        CashbackNotPossible = 0xCD => "cashback not possible",
        NotPermittedServiceCards = 0xD2 => "function not permitted for service-cards/bank-customer-cards",
        CardInserted = 0xDC => "card inserted",
        CardEjectError = 0xDD => "error during card-eject (for motor-insertion reader)",
        CardInsertionError = 0xDE => "error during card-insertion (for motor-insertion reader)",
        RemoteMaintenance = 0xE0 => "remote-maintenance activated",
        CardReaderDefective = 0xE2 => "card-reader does not answer / card-reader defective",
        ShutterClosed = 0xE3 => "shutter closed",
        ActivationRequired = 0xE4 => "terminal activation required",
        GoodsGroupNotFound = 0xE7 => "min. one goods-group not found",
        NoGoodsGroupTable = 0xE8 => "no goods-groups-table loaded",
        RestrictionCodeNotPermitted = 0xE9 => "restriction-code not permitted",
        CardCodeNotPermitted = 0xEA => "card-code not permitted (e.g. card not activated via Diagnosis)",
        PinAlgorithmUnknown = 0xEB => "function not executable (PIN-algorithm unknown)",
        PinProcessingNotPossible = 0xEC => "PIN-processing not possible",
        PinPadDefective = 0xED => "PIN-pad defective",
        OpenEndOfDayBatch = 0xF0 => "open end-of-day batch present",
        OfflineError = 0xF1 => "ec-cash/Maestro offline error",
        OptError = 0xF5 => "OPT-error",
        OptDataNotAvailable = 0xF6 => "OPT-data not available (OPT personalisation required)",
        OfflineTransmitError = 0xFA => "error transmitting offline-transactions (clearing error)",
        TurnoverDataDefective = 0xFB => "turnover data-set defective",
        DeviceNotPresent = 0xFC => "necessary device not present or defective",
        BaudrateNotSupported = 0xFD => "baudrate not supported",
        RegisterUnknown = 0xFE => "register unknown",
        SystemError = 0xFF => "system error",
    }
}

/// The spec's text for any result byte, including the issuer range `01`–`63`.
pub fn result_text(code: u8) -> &'static str {
    match ResultCode::from_u8(code) {
        Some(c) => c.text(),
        None if (0x01..=0x63).contains(&code) => "error code from the network operator / issuer",
        None => "unknown result code",
    }
}

code_table! {
    /// Status bytes of 04 FF Intermediate Status Information (PA00P015 13.07 ch. 3.7,
    /// "Intermediate status information").
    IntermediateStatusCode {
        WaitingForAmountConfirmation = 0x00 => "BZT waiting for amount confirmation",
        WatchPinPad = 0x01 => "please watch PIN-pad",
        WatchPinPad2 = 0x02 => "please watch PIN-pad",
        NotAccepted = 0x03 => "not accepted",
        WaitingForFep = 0x04 => "PT is waiting for response from FEP",
        SendingAutoReversal = 0x05 => "PT is sending auto-reversal",
        SendingPostBookings = 0x06 => "PT is sending post-bookings",
        CardNotAdmitted = 0x07 => "card not admitted",
        CardUnknown = 0x08 => "card unknown / undefined",
        ExpiredCard = 0x09 => "expired card",
        InsertCard = 0x0A => "insert card",
        RemoveCard = 0x0B => "please remove card",
        CardNotReadable = 0x0C => "card not readable",
        ProcessingError = 0x0D => "processing error",
        PleaseWait = 0x0E => "please wait",
        AutomaticEndOfDay = 0x0F => "PT is commencing an automatic end-of-day batch",
        InvalidCard = 0x10 => "invalid card",
        BalanceDisplay = 0x11 => "balance display",
        SystemMalfunction = 0x12 => "system malfunction",
        PaymentNotPossible = 0x13 => "payment not possible",
        CreditNotSufficient = 0x14 => "credit not sufficient",
        IncorrectPin = 0x15 => "incorrect PIN",
        LimitNotSufficient = 0x16 => "limit not sufficient",
        PleaseWait2 = 0x17 => "please wait",
        PinTryLimitExceeded = 0x18 => "PIN try limit exceeded",
        CardDataIncorrect = 0x19 => "card-data incorrect",
        ServiceMode = 0x1A => "service-mode",
        ApprovedFillUp = 0x1B => "approved, please fill-up",
        ApprovedTakeGoods = 0x1C => "approved, please take goods",
        Declined = 0x1D => "declined",
        WaitingForMobileNumber = 0x26 => "PT is waiting for input of the mobile-number",
        WaitingForMobileRepeat = 0x27 => "PT is waiting for repeat of mobile number",
        CurrencySelection = 0x28 => "currency selection, please wait",
        LanguageSelection = 0x29 => "language selection, please wait",
        InsertCardForLoading = 0x2A => "for loading please insert card",
        EmergencyTransaction = 0x2B => "emergency transaction, please wait",
        ApplicationSelection = 0x2C => "application selection, please wait",
        WaitingForApplicationSelection = 0xE0 => "PT is waiting for application-selection",
        WaitingForLanguageSelection = 0xE1 => "PT is waiting for language-selection",
        CleaningCard = 0xE2 => "PT requests to use the cleaning card",
        Offline = 0xF1 => "offline",
        Online = 0xF2 => "online",
        OfflineTransaction = 0xF3 => "offline-transaction",
        SeeTlv = 0xFF => "no appropriate ZVT status code matches; status via TLV",
    }
}

code_table! {
    /// Terminal status byte in the completion of 05 01 Status Enquiry (PA00P015 13.07
    /// ch. 2.55 "Status enquiry"; values shared with the result-code table).
    TerminalStatusCode {
        Ready = 0x00 => "PT ready",
        InitialisationRequired = 0x51 => "initialisation required",
        DateTimeIncorrect = 0x62 => "date/time incorrect",
        PleaseWait = 0x9C => "please wait (e.g. software update running)",
        MemoryFull = 0xB1 => "memory full",
        MerchantJournalFull = 0xB2 => "merchant journal full (run End of Day)",
        VoltageTooLow = 0xBF => "voltage supply too low",
        CardLockDefective = 0xC0 => "card locking mechanism defective",
        MerchantCardLocked = 0xC1 => "merchant card locked",
        DiagnosisRequired = 0xC2 => "diagnosis required",
        CardProfileInvalid = 0xC4 => "card-profile invalid",
        PrinterNotReady = 0xCC => "printer not ready",
        CardInserted = 0xDC => "card inserted",
        OutOfOrder = 0xDF => "out of order",
        RemoteMaintenance = 0xE0 => "remote maintenance activated",
        CardReaderDefective = 0xE2 => "card reader defective",
        ShutterClosed = 0xE3 => "shutter closed",
        ActivationRequired = 0xE4 => "terminal activation required",
        OpenEndOfDayBatch = 0xF0 => "open end-of-day batch present",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert_eq!(
            ResultCode::from_u8(0x6C),
            Some(ResultCode::AbortTimeoutOrKey)
        );
        assert_eq!(ResultCode::AbortTimeoutOrKey as u8, 0x6C);
        assert_eq!(ResultCode::try_from(0x50), Err(0x50));
        assert_eq!(
            result_text(0x05),
            "error code from the network operator / issuer"
        );
        assert_eq!(
            IntermediateStatusCode::from_u8(0x0A).unwrap().text(),
            "insert card"
        );
        assert_eq!(
            TerminalStatusCode::from_u8(0xDF),
            Some(TerminalStatusCode::OutOfOrder)
        );
        assert_eq!(ResultCode::SystemError.to_string(), "FF system error");
    }
}
