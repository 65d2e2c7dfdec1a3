//! Text corpora: `TextCorpus::load`, then encoding, decoding and the training windows of a
//! char-level model over what it read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sinew::data::TextCorpus;

#[global_allocator]
static ALLOC: sinew_fuzz::BoundedAlloc = sinew_fuzz::BoundedAlloc;

fuzz_target!(init: sinew_fuzz::limits(), |data: &[u8]| {
    let p = sinew_fuzz::scratch("corpus.txt", data);
    if let Ok(c) = TextCorpus::load(&p) {
        let ids = c.encode(&c.text).expect("a corpus encodes its own text");
        assert_eq!(c.decode(&ids).expect("and decodes it"), c.text);
        let seq = (ids.len() / 2).clamp(1, 16);
        let _ = c.shifted_sequences(seq);
        let _ = c.next_char_windows(seq, 3);
        let _ = c.split(0.9);
    }
});
