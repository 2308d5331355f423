//! Gift-card maintenance for managers: replace a lost card's physical code (`giftcardEdit`).
//!
//! `EditGiftCard` is a high-trust permission (it can be abused to reach funds), so the agent
//! refuses unless its config grants the separate maintenance permission, which is off by
//! default. Codes and PINs appear only masked in logs and errors.

use async_trait::async_trait;
use pos_client::{GiftCode, Giftcard, GiftcardEditRequest, PosError};
use secrecy::SecretString;

/// Whatever can run `giftcardEdit` (the POS client, or a fake in tests).
#[async_trait]
pub trait GiftcardEditor: Send + Sync {
    /// `giftcardEdit(giftcard: …)`.
    async fn giftcard_edit(&self, req: &GiftcardEditRequest) -> Result<Giftcard, PosError>;
}

/// Why a maintenance request was not done.
#[derive(Debug, thiserror::Error)]
pub enum GiftcardMaintenanceError {
    /// The agent's config does not allow gift-card maintenance.
    #[error("gift-card maintenance is not permitted on this lane")]
    NotPermitted,
    /// The request is malformed; nothing was sent.
    #[error("bad request: {0}")]
    BadInput(&'static str),
    /// The POS refused or failed (the error never contains the code or PIN).
    #[error(transparent)]
    Pos(#[from] PosError),
}

/// Replaces the physical code (and PIN) of card `card_id`: adding a physical code to a card
/// that has one replaces it (`pos-api.md` §5.7). Refuses without sending anything when
/// `permitted` is false or the input is malformed.
pub async fn replace_physical_code(
    permitted: bool,
    editor: &dyn GiftcardEditor,
    card_id: &str,
    new_code: GiftCode,
    new_pin: Option<SecretString>,
) -> Result<Giftcard, GiftcardMaintenanceError> {
    if !permitted {
        tracing::warn!(
            card_id,
            "Gift-card maintenance refused: not permitted by config."
        );
        return Err(GiftcardMaintenanceError::NotPermitted);
    }
    if card_id.is_empty() || !card_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(GiftcardMaintenanceError::BadInput(
            "card id must be alphanumeric",
        ));
    }
    let code = new_code.expose();
    if code.len() < 4 || code.len() > 64 || !code.chars().all(|c| c.is_ascii_graphic()) {
        return Err(GiftcardMaintenanceError::BadInput(
            "code must be 4 to 64 printable characters",
        ));
    }
    let masked = new_code.masked();
    let req = GiftcardEditRequest {
        id: card_id.to_owned(),
        member_id: None,
        add_personal_code: None,
        revoke_physical_code: None,
        revoke_personal_code: None,
        physical_code: Some(new_code),
        physical_pin: new_pin,
    };
    let card = editor.giftcard_edit(&req).await?;
    tracing::info!(card_id, code = %masked, "Gift card physical code replaced.");
    Ok(card)
}
