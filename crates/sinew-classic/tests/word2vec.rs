//! word2vec and subword embeddings on tiny Shakespeare (`../shared/data/tinyshakespeare`),
//! shortened runs: related words sit closer than unrelated ones on a fixed list, the word2vec
//! text format round-trips, and subwords give a word never seen a vector.

use sinew_classic::{simple_words, Architecture, KeyedVectors, Subwords, Word2Vec, Word2VecOptions};

fn corpus() -> Vec<Vec<String>> {
    let dir = sinew_data::find_dataset("tinyshakespeare").expect("../shared/data/tinyshakespeare is required");
    simple_words(&std::fs::read_to_string(dir.join("input.txt")).unwrap())
}

/// Groups of related words, fixed before any training. On a corpus of 200,000 words the cosines
/// are high across the board (gensim's too: king~eat 0.57 above king~queen 0.44 after three
/// skip-gram epochs), so the test compares groups, not single pairs: within every group the
/// mean cosine must be above the group's mean cosine to the other groups' words.
///
/// A fifth group, titles (king, queen, prince, duke, lord, lady), was dropped after the first
/// run: in this text a title opens a speech (`KING RICHARD III:`) and sits beside whatever the
/// speech begins with. gensim 4.4 fails it the same way with the same settings (within 0.58
/// against 0.69 to the others, skip-gram; 0.68 against 0.79, CBOW), while it passes the other
/// four as sinew does.
const GROUPS: [&[&str]; 4] = [
    &["father", "mother", "brother", "sister", "son", "daughter", "wife", "husband"],
    &["hand", "eye", "head", "heart", "face", "blood"],
    &["one", "two", "three", "four", "ten", "hundred"],
    &["day", "night", "morning", "hour", "year"],
];

fn groups_hold_together(wv: &KeyedVectors, what: &str) {
    for (g, group) in GROUPS.iter().enumerate() {
        let (mut within, mut n_in, mut across, mut n_across) = (0.0, 0, 0.0, 0);
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                within += wv.similarity(a, b).unwrap();
                n_in += 1;
            }
            for (h, other) in GROUPS.iter().enumerate() {
                for b in other.iter().filter(|_| h != g) {
                    across += wv.similarity(a, b).unwrap();
                    n_across += 1;
                }
            }
        }
        let (within, across) = (within / n_in as f32, across / n_across as f32);
        eprintln!("{what}: {:?}...: within {within:.3}, to the other groups {across:.3}", group[0]);
        assert!(within > across, "{what}: group of {:?}: within {within:.3} is not above {across:.3}", group[0]);
    }
}

/// Where `word` ranks among the vocabulary's nearest words to `query` (0 = nearest).
fn rank(wv: &KeyedVectors, query: &str, word: &str) -> usize {
    let all = wv.most_similar(&[query], &[], wv.len()).unwrap();
    all.iter().position(|(w, _)| w == word).unwrap()
}

#[test]
fn skip_gram_keeps_related_words_together_and_round_trips_the_text_format() {
    let sentences = corpus();
    let opts = Word2VecOptions::new().architecture(Architecture::SkipGram).epochs(3).workers(1);
    let m = Word2Vec::fit(&sentences, opts).unwrap();
    let wv = m.wv();
    groups_hold_together(wv, "skip-gram");
    let near = wv.most_similar(&["king"], &[], 5).unwrap();
    eprintln!("king: {near:?}");
    assert!(near.iter().all(|(w, _)| w != "king"));

    let path = std::env::temp_dir().join(format!("sinew-w2v-{}.txt", std::process::id()));
    wv.save_word2vec_format(&path).unwrap();
    let back = KeyedVectors::load_word2vec_format(&path).unwrap();
    assert_eq!(back.words(), wv.words());
    assert_eq!(back.get("king"), wv.get("king"), "values written as the shortest text that reads back exactly");
    std::fs::write(&path, "2 3\nking 1 2 3\nqueen 1 2\n").unwrap();
    let err = KeyedVectors::load_word2vec_format(&path).unwrap_err().to_string();
    assert!(err.contains("line 3") && err.contains("\"queen\" has 2 values, expected 3"), "{err}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn cbow_keeps_related_words_together() {
    let m = Word2Vec::fit(&corpus(), Word2VecOptions::new().epochs(5).workers(1)).unwrap();
    groups_hold_together(m.wv(), "CBOW");
}

#[test]
fn subwords_give_unseen_words_a_vector() {
    let sentences = corpus();
    let plain = Word2Vec::fit(&sentences[..2000], Word2VecOptions::new().epochs(1).workers(1)).unwrap();
    assert!(plain.wv().get("kingliest").is_none());
    let opts = Word2VecOptions::new()
        .architecture(Architecture::SkipGram)
        .epochs(2)
        .workers(1)
        .subwords(Subwords { buckets: 100_000, ..Subwords::default() });
    let m = Word2Vec::fit(&sentences, opts).unwrap();
    let wv = m.wv();
    assert_eq!(wv.get("kingliest").expect("a vector from the n-grams").len(), 100);
    // A misspelt word, never seen, lands beside the word it misspells.
    for (typo, word) in [("brotherr", "brother"), ("fatherr", "father"), ("kingg", "king")] {
        assert!(!wv.contains(typo));
        let r = rank(wv, typo, word);
        eprintln!("{typo}: {word} ranks {r}");
        assert!(r < 10, "{typo}: {word} ranks {r}");
    }
    // The groups are not asserted here: after two epochs the shared n-grams pull every
    // vector together (mean cosines 0.99 within and across groups, gensim's FastText's too).
}

#[test]
fn bad_settings_are_refused() {
    let s = vec![vec!["a".to_string(), "b".to_string()]];
    let err = Word2Vec::fit(&s, Word2VecOptions::new()).err().unwrap().to_string();
    assert!(err.contains("min_count = 5"), "{err}");
    let err = Word2Vec::fit(&s, Word2VecOptions::new().min_count(1).window(0)).err().unwrap().to_string();
    assert!(err.contains("window (0)"), "{err}");
    let m = Word2Vec::fit(&s, Word2VecOptions::new().min_count(1)).unwrap();
    let err = m.wv().similarity("a", "zebra").unwrap_err().to_string();
    assert!(err.contains("\"zebra\" is not in the vocabulary"), "{err}");
}

#[test]
fn a_frozen_embedding_layer_holds_the_vectors() {
    use sinew_nn::Embedding;
    use sinew_tensor::Tensor;
    use sinew_train::Sequential;
    let m = Word2Vec::fit(&corpus()[..10_000], Word2VecOptions::new().epochs(1).workers(1)).unwrap();
    let tokens = ["<pad>", "king", "love", "never-seen-word"];
    let w = m.wv().embedding_weights(&tokens);
    assert_eq!(w.dims(), &[4, 100]);
    let mut model = Sequential::new();
    model.input(&[2]).add(Embedding::new(4, 100));
    model.build().unwrap();
    model.set_weights(&[w]).unwrap();
    model.set_trainable(false);
    let out = model.predict(&Tensor::from_vec(vec![1.0, 3.0], [1, 2]), 1).unwrap().to_vec_f32();
    assert_eq!(out[..100], m.wv().get("king").unwrap()[..]);
    assert!(out[100..].iter().all(|&v| v == 0.0), "a token without a vector is zeros");
}

#[test]
fn one_worker_reproduces_a_run_bit_for_bit() {
    let s = &corpus()[..5000];
    let opts = Word2VecOptions::new().architecture(Architecture::SkipGram).epochs(1).workers(1).seed(3);
    let (a, b) = (Word2Vec::fit(s, opts.clone()).unwrap(), Word2Vec::fit(s, opts).unwrap());
    for w in a.wv().words() {
        let (x, y) = (a.wv().get(w).unwrap(), b.wv().get(w).unwrap());
        assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()), "{w}");
    }
}
