//! The journeys and their recent answers: a range asked again within a minute is answered from
//! memory, so a page left open or many people opening the same view read the logs once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use vitals_api::{JourneyAnswer, JourneyList, JourneySummary};

use super::Journey;
use super::evaluate::{self, Pseudonyms};
use crate::sources::{SourceError, Sources, TimeRange};

/// How long an answer is kept.
pub const KEEP_MS: i64 = 60_000;
/// The most answers kept.
const MOST_KEPT: usize = 64;

type Key = (String, TimeRange, Option<String>);

pub struct JourneyBoard {
    journeys: Vec<Journey>,
    pseudonyms: Pseudonyms,
    kept: Mutex<HashMap<Key, (i64, Arc<JourneyAnswer>)>>,
}

impl JourneyBoard {
    /// The journeys, joined under a key derived from `secret` (the server's signing secret).
    pub fn new(journeys: Vec<Journey>, secret: &[u8]) -> Self {
        Self {
            journeys,
            pseudonyms: Pseudonyms::new(secret),
            kept: Mutex::new(HashMap::new()),
        }
    }

    pub fn find(&self, id: &str) -> Option<&Journey> {
        self.journeys.iter().find(|journey| journey.id == id)
    }

    pub fn list(&self) -> JourneyList {
        JourneyList {
            journeys: self
                .journeys
                .iter()
                .map(|journey| JourneySummary {
                    id: journey.id.clone(),
                    name: journey.name.clone(),
                    description: journey.description.clone(),
                    steps: journey.steps.iter().map(|step| step.name.clone()).collect(),
                    group_noun: journey.group_noun.clone(),
                })
                .collect(),
        }
    }

    /// The journey over `range` for `group` (or all), from memory when asked within [`KEEP_MS`].
    pub async fn answer(
        &self,
        sources: &Sources,
        journey: &Journey,
        range: TimeRange,
        group: Option<&str>,
        range_words: &str,
        now_ms: i64,
    ) -> Result<Arc<JourneyAnswer>, SourceError> {
        let key = (journey.id.clone(), range, group.map(str::to_owned));
        if let Some((at, answer)) = self.kept.lock().unwrap_or_else(PoisonError::into_inner).get(&key)
            && (0..KEEP_MS).contains(&(now_ms - at))
        {
            return Ok(Arc::clone(answer));
        }
        let answer =
            Arc::new(evaluate::answer(sources, journey, range, group, range_words, &self.pseudonyms).await?);
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|_, (at, _)| (0..KEEP_MS).contains(&(now_ms - *at)));
        if kept.len() >= MOST_KEPT
            && let Some(oldest) = kept
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(key, _)| key.clone())
        {
            kept.remove(&oldest);
        }
        kept.insert(key, (now_ms, Arc::clone(&answer)));
        Ok(answer)
    }
}
