//! Chat-template prompts (Llama 3 headers, `[INST]` turns) split back into Converse turns, so a
//! provider applies its own template to real turns instead of seeing template tokens as text.

use quarry_bedrock_runtime::types::{ConversationRole, Message};

use super::body::{malformed, unsupported};
use super::{merge_adjacent, text_message};
use crate::providers::ProviderError;

/// A prompt's turns: system text and alternating messages.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Turns {
    pub(crate) system: Vec<String>,
    pub(crate) messages: Vec<Message>,
}

impl Turns {
    fn push(&mut self, role: ConversationRole, text: &str) {
        let text = text.trim();
        // Empty turns carry nothing (the template's closing `assistant` header is the cue to
        // answer, not a message); Converse refuses empty text blocks.
        if !text.is_empty() {
            self.messages.push(text_message(role, text));
        }
    }
}

/// The turns of a prompt: a Llama 3 template, an `[INST]` template (Llama 2, Mistral), or else
/// the whole prompt as one user message, untouched.
pub(crate) fn split(prompt: &str, path: &str) -> Result<Turns, ProviderError> {
    let mut turns = if prompt.contains("<|start_header_id|>") {
        llama3(prompt, path)?
    } else if prompt.contains("[INST]") {
        inst(prompt)
    } else {
        Turns {
            system: Vec::new(),
            messages: vec![text_message(ConversationRole::User, prompt)],
        }
    };
    turns.messages = merge_adjacent(turns.messages);
    Ok(turns)
}

/// `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n…<|eot_id|>…`
fn llama3(prompt: &str, path: &str) -> Result<Turns, ProviderError> {
    let body = prompt.trim_start().trim_start_matches("<|begin_of_text|>");
    let mut segments = body.split("<|start_header_id|>");
    let mut turns = Turns::default();
    if let Some(lead) = segments.next() {
        turns.push(ConversationRole::User, lead);
    }
    for segment in segments {
        let Some((role, content)) = segment.split_once("<|end_header_id|>") else {
            return Err(malformed(
                path,
                "a Llama 3 <|start_header_id|> has no <|end_header_id|>",
            ));
        };
        let content = content
            .trim_end()
            .trim_end_matches("<|eot_id|>")
            .trim_end_matches("<|eom_id|>");
        match role.trim() {
            "system" => {
                let text = content.trim();
                if !text.is_empty() {
                    turns.system.push(text.to_owned());
                }
            }
            "user" => turns.push(ConversationRole::User, content),
            "assistant" => turns.push(ConversationRole::Assistant, content),
            other => {
                return Err(unsupported(
                    path,
                    format!("the Llama prompt role `{other}` has no Converse equivalent"),
                ));
            }
        }
    }
    Ok(turns)
}

/// `<s>[INST] <<SYS>>\n…\n<</SYS>>\n\nquestion [/INST] answer</s><s>[INST] … [/INST]`
fn inst(prompt: &str) -> Turns {
    let body = prompt.replace("<s>", "").replace("</s>", "");
    let mut parts = body.split("[INST]");
    let mut turns = Turns::default();
    if let Some(lead) = parts.next() {
        turns.push(ConversationRole::User, lead);
    }
    for part in parts {
        let (user, assistant) = part.split_once("[/INST]").unwrap_or((part, ""));
        let user = match (user.find("<<SYS>>"), user.find("<</SYS>>")) {
            (Some(start), Some(end)) if start < end => {
                let system = user[start + "<<SYS>>".len()..end].trim();
                if !system.is_empty() {
                    turns.system.push(system.to_owned());
                }
                format!("{}{}", &user[..start], &user[end + "<</SYS>>".len()..])
            }
            _ => user.to_owned(),
        };
        turns.push(ConversationRole::User, &user);
        turns.push(ConversationRole::Assistant, assistant);
    }
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(turns: &Turns) -> Vec<(ConversationRole, String)> {
        turns
            .messages
            .iter()
            .map(|m| {
                let text = m
                    .content
                    .iter()
                    .map(|b| match b {
                        quarry_bedrock_runtime::types::ContentBlock::Text(t) => t.clone(),
                        other => panic!("not text: {other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|");
                (m.role.clone(), text)
            })
            .collect()
    }

    #[test]
    fn a_plain_prompt_is_one_user_message_untouched() {
        let turns = split("  Hello there  ", "#/prompt").unwrap();
        assert!(turns.system.is_empty());
        assert_eq!(
            texts(&turns),
            vec![(ConversationRole::User, "  Hello there  ".to_owned())]
        );
    }

    #[test]
    fn a_llama3_template_splits_into_system_and_turns() {
        let prompt = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>\
            <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
            <|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>\
            <|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>\
            <|start_header_id|>assistant<|end_header_id|>\n\n";
        let turns = split(prompt, "#/prompt").unwrap();
        assert_eq!(turns.system, vec!["Be brief.".to_owned()]);
        assert_eq!(
            texts(&turns),
            vec![
                (ConversationRole::User, "Hi".to_owned()),
                (ConversationRole::Assistant, "Hello!".to_owned()),
                (ConversationRole::User, "How are you?".to_owned()),
            ]
        );
    }

    #[test]
    fn a_llama3_tool_role_is_refused_by_name() {
        let prompt = "<|start_header_id|>ipython<|end_header_id|>\n\n42<|eot_id|>";
        let err = split(prompt, "#/prompt").unwrap_err();
        assert!(err.message.contains("#/prompt"), "{}", err.message);
        assert!(err.message.contains("ipython"), "{}", err.message);
        let err = split("<|start_header_id|>user", "#/prompt").unwrap_err();
        assert!(err.message.contains("<|end_header_id|>"), "{}", err.message);
    }

    #[test]
    fn an_inst_template_splits_into_turns_with_system() {
        let prompt = "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is 2+2? [/INST] 4 </s><s>[INST] And 3+3? [/INST]";
        let turns = split(prompt, "#/prompt").unwrap();
        assert_eq!(turns.system, vec!["You are terse.".to_owned()]);
        assert_eq!(
            texts(&turns),
            vec![
                (ConversationRole::User, "What is 2+2?".to_owned()),
                (ConversationRole::Assistant, "4".to_owned()),
                (ConversationRole::User, "And 3+3?".to_owned()),
            ]
        );
    }
}
