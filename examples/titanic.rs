//! The notes' Titanic survival project, the classic Kaggle first competition: explore the table,
//! extract each passenger's title from the name with a regex (rare titles grouped), derive the
//! family size from siblings and parents, impute Age (median) and Embarked (most frequent),
//! one-hot the categoricals, scale, and train a small Dense/Dropout ANN with EarlyStopping.
//!
//! A stratified 80/20 split holds out 179 passengers. Over model seeds 1-3 the held-out accuracy
//! averages 82.3% (82.1, 81.0, 83.8, measured 2026-12-07; target at least 78%), in well under a second in all. The
//! best one-column rule on the same split (each title's majority outcome) scores 78.8%, so the
//! test also asserts that the model beats it
//! (`cargo test -p sinew --example titanic -- --nocapture` prints it).
//!
//! Data: `../shared/data/titanic/titanic.csv` (or `$SINEW_DATA_DIR/titanic`).
//! Run: `cargo run --release --example titanic`

use sinew::data::{
    classification_report, column_f64, column_str, derive, extract, find_dataset, missing_values, read_csv, set_column,
    take_rows, train_test_split, value_counts, CategoryFill, CsvOptions, DataFrame, HandleUnknown, Preprocessor,
    Scaling, Strategy,
};
use sinew::prelude::*;

const SPLIT_SEED: u64 = 42;
const MODEL_SEEDS: [u64; 3] = [1, 2, 3];

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Loads the table and adds the engineered columns `Title` and `FamilySize`.
fn load(verbose: bool) -> Res<DataFrame> {
    let df = read_csv(find_dataset("titanic")?.join("titanic.csv"), &CsvOptions::new())?;
    if verbose {
        println!("{}\n{}", missing_values(&df)?, value_counts(&df, "Survived")?);
    }
    // Cabin is 77% missing and Ticket and PassengerId are identifiers: drop them (polars' own
    // DataFrame API).
    let mut df = df.drop_many(["Cabin", "Ticket", "PassengerId"]);
    // "Braund, Mr. Owen Harris" -> "Mr"; titles seen only a few times share one category.
    extract(&mut df, "Name", r",\s*([^.]+)\.", "Title")?;
    let titles: Vec<Option<String>> = column_str(&df, "Title")?
        .into_iter()
        .map(|t| {
            Some(match t.as_deref() {
                Some("Mlle" | "Ms") => "Miss".to_string(),
                Some("Mme") => "Mrs".to_string(),
                Some(t @ ("Mr" | "Mrs" | "Miss" | "Master")) => t.to_string(),
                _ => "Rare".to_string(),
            })
        })
        .collect();
    set_column(&mut df, "Title", titles)?;
    derive(&mut df, "FamilySize", &["SibSp", "Parch"], |v| Some(v[0]? + v[1]? + 1.0))?;
    if verbose {
        println!("{}", value_counts(&df, "Title")?);
    }
    Ok(df)
}

/// Held-out accuracy for model seed `seed`.
fn run(df: &DataFrame, seed: u64, verbose: u8) -> Res<f64> {
    let survived: Vec<usize> = column_f64(df, "Survived")?.iter().map(|v| v.unwrap_or(0.0) as usize).collect();
    let split = train_test_split(df.height(), 0.2, true, SPLIT_SEED, Some(&survived))?;
    let rows = |idx: &[usize]| -> Res<(DataFrame, Tensor)> {
        let y: Vec<f32> = idx.iter().map(|&i| survived[i] as f32).collect();
        Ok((take_rows(df, idx)?, Tensor::from_vec(y, [idx.len(), 1])))
    };
    let (train, y_train) = rows(&split.train)?;
    let (test, y_test) = rows(&split.test)?;
    let prep = Preprocessor::new()
        .numeric(&["Age", "Fare", "SibSp", "Parch", "FamilySize"], Strategy::Median, Scaling::Standard)
        .categorical(&["Pclass", "Sex", "Embarked", "Title"], CategoryFill::MostFrequent, false, HandleUnknown::Ignore)
        .fit(&train)?;
    let (x_train, x_test) = (prep.transform(&train)?, prep.transform(&test)?);

    let mut model = Sequential::new();
    model.seed(seed).input(&[x_train.dims()[1]]);
    model.add(Dense::new(32).activation(Activation::Relu));
    model.add(Dropout::new(0.2));
    model.add(Dense::new(16).activation(Activation::Relu));
    model.add(Dense::new(1).activation(Activation::Sigmoid));
    model.compile(Optimizer::adam(0.001), "binary_crossentropy", &["accuracy"])?;
    let mut early = EarlyStopping::new("val_loss").patience(10);
    early.restore_best_weights = true;
    let fit = Fit::new().epochs(300).batch_size(16).validation_split(0.2).verbose(verbose).callback(&mut early);
    model.fit(&x_train, &y_train, fit)?;
    let acc = model.evaluate(&x_test, &y_test, 256)?.get("accuracy").unwrap();
    if verbose > 0 {
        let pred: Vec<usize> =
            model.predict(&x_test, 256)?.to_vec_f32().iter().map(|&p| usize::from(p > 0.5)).collect();
        let truth: Vec<usize> = y_test.to_vec_f32().iter().map(|&v| v as usize).collect();
        println!("{}", classification_report(&truth, &pred, 2, Some(&["died", "survived"]))?);
    }
    Ok(acc)
}

/// The best held-out accuracy of a one-column rule on the same split: for each column, predict
/// the majority outcome of the training passengers who share the test passenger's value (the
/// overall majority for a value not seen in training). A model must beat this to have learned
/// more than its single best column (on this split: `Title`, 78.8%).
fn best_single_column_baseline(df: &DataFrame) -> Res<(String, f64)> {
    let survived: Vec<usize> = column_f64(df, "Survived")?.iter().map(|v| v.unwrap_or(0.0) as usize).collect();
    let split = train_test_split(df.height(), 0.2, true, SPLIT_SEED, Some(&survived))?;
    let overall = usize::from(split.train.iter().filter(|&&i| survived[i] == 1).count() * 2 > split.train.len());
    let mut best = (String::new(), 0.0);
    for col in ["Pclass", "Sex", "Embarked", "Title", "SibSp", "Parch", "FamilySize"] {
        let values: Vec<String> = match column_str(df, col) {
            Ok(v) => v.into_iter().map(|v| v.unwrap_or_default()).collect(),
            Err(_) => column_f64(df, col)?.into_iter().map(|v| format!("{v:?}")).collect(),
        };
        let mut counts: std::collections::HashMap<&str, (usize, usize)> = Default::default();
        for &i in &split.train {
            let c = counts.entry(values[i].as_str()).or_default();
            c.0 += 1;
            c.1 += survived[i];
        }
        let right = split
            .test
            .iter()
            .filter(|&&i| {
                let guess = counts.get(values[i].as_str()).map_or(overall, |&(n, s)| usize::from(s * 2 > n));
                guess == survived[i]
            })
            .count();
        let acc = right as f64 / split.test.len() as f64;
        if acc > best.1 {
            best = (col.to_string(), acc);
        }
    }
    Ok(best)
}

fn mean_accuracy(verbose: u8) -> Res<f64> {
    let df = load(verbose > 0)?;
    let mut sum = 0.0;
    for s in MODEL_SEEDS {
        let acc = run(&df, s, verbose)?;
        println!("model seed {s}: held-out accuracy {acc:.4}");
        sum += acc;
    }
    Ok(sum / MODEL_SEEDS.len() as f64)
}

fn main() -> Res<()> {
    let acc = mean_accuracy(1)?;
    let (col, base) = best_single_column_baseline(&load(false)?)?;
    println!("best single-column baseline on the same split: {col} {base:.4}");
    println!("mean held-out accuracy over seeds {MODEL_SEEDS:?}: {acc:.4}");
    if acc < 0.78 {
        return Err(format!("accuracy {acc:.4} is below the expected 0.78").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn titanic_reaches_78_percent() {
        let acc = super::mean_accuracy(0).expect("titanic.csv must be present in ../shared/data/titanic");
        assert!(acc >= 0.78, "held-out accuracy {acc:.4} < 0.78");
        // Issue 22: 78% is about what one column scores alone, so the model must also beat the
        // best one-column rule on the same split.
        let df = super::load(false).unwrap();
        let (col, base) = super::best_single_column_baseline(&df).unwrap();
        println!("best single-column baseline: {col} {base:.4}");
        assert!(acc > base, "held-out accuracy {acc:.4} does not beat the {col} column alone ({base:.4})");
    }
}
