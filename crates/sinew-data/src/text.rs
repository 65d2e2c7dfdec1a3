//! A plain-text corpus for character-level models (the char-rnn setup): the text, its sorted
//! character vocabulary, encoding to ids and back, and the (window, next character) pairs a
//! text generator trains on.

use crate::error::{Error, Result};
use sinew_tensor::Tensor;
use std::path::Path;

/// A text and its character vocabulary (sorted distinct characters, as char-rnn builds it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextCorpus {
    pub text: String,
    pub vocab: Vec<char>,
}

impl TextCorpus {
    /// Reads a UTF-8 text file (optionally gzip-compressed). An empty or non-UTF-8 file is an
    /// error naming it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let raw = crate::idx::read_maybe_gz(path)?;
        let text = String::from_utf8(raw).map_err(|e| {
            Error::format(path, format!("not UTF-8 text (first bad byte at offset {})", e.utf8_error().valid_up_to()))
        })?;
        if text.is_empty() {
            return Err(Error::format(path, "the corpus is empty"));
        }
        Ok(Self::from_text(text))
    }
    pub fn from_text(text: impl Into<String>) -> Self {
        let text = text.into();
        let mut vocab: Vec<char> = text.chars().collect();
        vocab.sort_unstable();
        vocab.dedup();
        TextCorpus { text, vocab }
    }
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }
    /// Ids of the characters of `s`; a character outside the vocabulary is an error naming its
    /// position.
    pub fn encode(&self, s: &str) -> Result<Vec<usize>> {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                self.vocab.binary_search(&c).map_err(|_| {
                    Error::invalid(format!(
                        "TextCorpus.encode: character {c:?} at position {i} is not in the vocabulary"
                    ))
                })
            })
            .collect()
    }
    /// The text of `ids`; an id past the vocabulary is an error.
    pub fn decode(&self, ids: &[usize]) -> Result<String> {
        ids.iter()
            .map(|&i| {
                self.vocab.get(i).copied().ok_or_else(|| {
                    Error::invalid(format!(
                        "TextCorpus.decode: id {i} is not below the vocabulary size {}",
                        self.vocab.len()
                    ))
                })
            })
            .collect()
    }
    /// Splits into the first `fraction` of the characters and the rest (the usual 90/10 split),
    /// both sharing this corpus' vocabulary.
    pub fn split(&self, fraction: f64) -> (TextCorpus, TextCorpus) {
        let n = self.text.chars().count();
        let cut = self
            .text
            .char_indices()
            .nth(((n as f64) * fraction.clamp(0.0, 1.0)) as usize)
            .map_or(self.text.len(), |(b, _)| b);
        let (a, b) = self.text.split_at(cut);
        (
            TextCorpus { text: a.into(), vocab: self.vocab.clone() },
            TextCorpus { text: b.into(), vocab: self.vocab.clone() },
        )
    }
    /// Training pairs for a character-level language model: the text cut into consecutive,
    /// non-overlapping chunks of `seq_len + 1` ids, each giving its first `seq_len` ids `[n,
    /// seq_len]` and the same ids shifted by one, `[n, seq_len]` (the target at every step is the
    /// next character, as TensorFlow's text-generation tutorial builds it). The notes' target
    /// `seq[-1:]` (only the last character) cannot train a model that predicts at every step.
    pub fn shifted_sequences(&self, seq_len: usize) -> Result<(Tensor, Tensor)> {
        self.shifted_windows(seq_len, seq_len + 1)
    }
    /// [`TextCorpus::shifted_sequences`] from windows of `seq_len + 1` ids starting every
    /// `stride` characters, overlapping when `stride <= seq_len` (tf.data's
    /// `dataset.window(seq_len + 1, shift=stride)`, as the notes build their dataset with
    /// `shift=1`): a model trained for many passes sees each passage at many offsets instead of
    /// the same chunks again.
    pub fn shifted_windows(&self, seq_len: usize, stride: usize) -> Result<(Tensor, Tensor)> {
        let ids = self.encode(&self.text)?;
        if seq_len == 0 || stride == 0 || ids.len() <= seq_len {
            return Err(Error::invalid(format!(
                "shifted_windows: need 0 < seq_len < {} characters and stride > 0, got seq_len {seq_len}, stride {stride}",
                ids.len()
            )));
        }
        let starts: Vec<usize> = (0..=ids.len() - (seq_len + 1)).step_by(stride).collect();
        let n = starts.len();
        let (mut x, mut y) = (Vec::with_capacity(n * seq_len), Vec::with_capacity(n * seq_len));
        for &s in &starts {
            let w = &ids[s..s + seq_len + 1];
            x.extend(w[..seq_len].iter().map(|&i| i as f32));
            y.extend(w[1..].iter().map(|&i| i as f32));
        }
        Ok((Tensor::from_vec(x, [n, seq_len]), Tensor::from_vec(y, [n, seq_len])))
    }
    /// Training pairs for next-character prediction: windows of `seq_len` ids starting every
    /// `step` characters, `[n, seq_len]`, and the id that follows each, `[n]` (the Keras
    /// text-generation example's `sentences` and `next_chars`).
    pub fn next_char_windows(&self, seq_len: usize, step: usize) -> Result<(Tensor, Tensor)> {
        let ids = self.encode(&self.text)?;
        if seq_len == 0 || step == 0 || ids.len() <= seq_len {
            return Err(Error::invalid(format!(
                "next_char_windows: need 0 < seq_len < {} characters and step > 0, got seq_len {seq_len}, step {step}",
                ids.len()
            )));
        }
        let starts: Vec<usize> = (0..ids.len() - seq_len).step_by(step).collect();
        let mut x = Vec::with_capacity(starts.len() * seq_len);
        let mut y = Vec::with_capacity(starts.len());
        for &s in &starts {
            x.extend(ids[s..s + seq_len].iter().map(|&i| i as f32));
            y.push(ids[s + seq_len] as f32);
        }
        Ok((Tensor::from_vec(x, [starts.len(), seq_len]), Tensor::from_vec(y, [starts.len()])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_vocab_encode_decode_and_windows() {
        let c = TextCorpus::from_text("hello world");
        assert_eq!(c.vocab, [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
        let ids = c.encode("hold").unwrap();
        assert_eq!(c.decode(&ids).unwrap(), "hold");
        assert!(c.encode("hi").unwrap_err().message.contains("'i' at position 1"));
        assert!(c.decode(&[8]).is_err());
        let (x, y) = c.next_char_windows(4, 3).unwrap();
        assert_eq!(x.dims(), [3, 4]); // starts 0, 3, 6
        assert_eq!(c.decode(&x.to_vec_f32()[4..8].iter().map(|&v| v as usize).collect::<Vec<_>>()).unwrap(), "lo w");
        assert_eq!(c.decode(&[y.to_vec_f32()[1] as usize]).unwrap(), "o");
        // Shifted pairs: non-overlapping chunks of 4 + 1, or windows every 2 characters.
        let text = |t: &Tensor, row: usize, len: usize| {
            c.decode(&t.to_vec_f32()[row * len..(row + 1) * len].iter().map(|&v| v as usize).collect::<Vec<_>>())
                .unwrap()
        };
        let (x, y) = c.shifted_sequences(4).unwrap();
        assert_eq!(x.dims(), [2, 4]); // "hello", " worl"
        assert_eq!((text(&x, 1, 4), text(&y, 1, 4)), (" wor".to_string(), "worl".to_string()));
        let (x, y) = c.shifted_windows(4, 2).unwrap();
        assert_eq!(x.dims(), [4, 4]); // starts 0, 2, 4, 6
        assert_eq!((text(&x, 1, 4), text(&y, 1, 4)), ("llo ".to_string(), "lo w".to_string()));
        assert!(c.shifted_windows(4, 0).is_err());
        let (a, b) = c.split(0.5);
        assert_eq!((a.text.as_str(), b.text.as_str()), ("hello", " world"));
        assert_eq!(b.vocab, c.vocab);
    }
}
