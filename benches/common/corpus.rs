//! A synthetic prompt corpus with a realistic word distribution: a vocabulary of a few
//! thousand real English words (a hand-written head of common prompt words, then words from
//! the system dictionary, shorter ones ranked as more frequent), drawn by Zipf's law (s = 1)
//! into prompts of 8-40 words. Deterministic for a seed.

#![allow(dead_code)]

/// The most frequent words of image and video prompts, in rough order.
const HEAD: &str = "a the of with in and on at to by for from an into under over through near behind \
    light portrait cinematic city night street woman man girl boy old young red blue golden green black white \
    dark soft warm cold bright small large tiny giant ancient modern futuristic neon rain snow fog sun moon \
    sky sea ocean river forest mountain desert garden room window door house castle tower bridge road car \
    train ship boat plane dog cat horse bird fox wolf dragon robot knight queen king child face eyes hair \
    hands dress coat hat flower tree leaf stone glass water fire smoke cloud shadow reflection sunset sunrise \
    morning evening winter summer autumn spring style photo painting illustration render detailed realistic \
    lens camera shot closeup wide angle slow motion running walking flying dancing sitting standing looking \
    smiling glowing floating falling burning";

/// Where the tail comes from (Debian: `apt-get install -y wamerican`).
pub const DICTIONARY: &str = "/usr/share/dict/words";

/// A deterministic pseudo-random generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The vocabulary, most frequent first, and its Zipf sampler.
pub struct Corpus {
    pub words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Corpus {
    /// `size` words: the head, then dictionary words (lower-case letters only, 3-10 letters,
    /// an evenly spaced sample) ranked shorter first. `Err` when the dictionary is missing.
    pub fn new(size: usize) -> Result<Corpus, String> {
        let text = std::fs::read_to_string(DICTIONARY)
            .map_err(|e| format!("{DICTIONARY}: {e} (install it with `apt-get install -y wamerican`)"))?;
        let mut words: Vec<String> = Vec::with_capacity(size);
        for w in HEAD.split_whitespace() {
            if !words.iter().any(|x| x == w) {
                words.push(w.to_string());
            }
        }
        let candidates: Vec<&str> =
            text.lines().filter(|w| (3..=10).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase())).collect();
        let need = size.saturating_sub(words.len());
        let step = (candidates.len() / need.max(1)).max(1);
        let mut tail: Vec<&str> = candidates.iter().step_by(step).copied().filter(|w| !HEAD.split_whitespace().any(|h| h == *w)).collect();
        tail.truncate(need);
        // shorter words are more frequent (Zipf's law of abbreviation); ties by a hash
        tail.sort_by_key(|w| (w.len(), Rng::new(w.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))).next_u64()));
        words.extend(tail.into_iter().map(str::to_string));
        let mut cumulative = Vec::with_capacity(words.len());
        let mut sum = 0.0;
        for rank in 1..=words.len() {
            sum += 1.0 / rank as f64;
            cumulative.push(sum);
        }
        Ok(Corpus { words, cumulative })
    }

    /// A rank drawn by Zipf's law.
    pub fn rank(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        self.cumulative.partition_point(|&c| c < x).min(self.words.len() - 1)
    }

    /// A word drawn by Zipf's law among ranks `min_rank..`.
    pub fn word_from(&self, rng: &mut Rng, min_rank: usize) -> &str {
        loop {
            let r = self.rank(rng);
            if r >= min_rank {
                return &self.words[r];
            }
        }
    }

    /// The word ranks of a prompt of `min..=max` words.
    pub fn prompt_ranks(&self, rng: &mut Rng, min: usize, max: usize) -> Vec<usize> {
        let n = min + rng.below(max - min + 1);
        (0..n).map(|_| self.rank(rng)).collect()
    }

    /// A prompt of `min..=max` words.
    pub fn prompt(&self, rng: &mut Rng, min: usize, max: usize) -> String {
        let ranks = self.prompt_ranks(rng, min, max);
        ranks.iter().map(|&r| self.words[r].as_str()).collect::<Vec<_>>().join(" ")
    }
}
