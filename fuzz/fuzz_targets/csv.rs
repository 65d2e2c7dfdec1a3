//! CSV tables through the preprocessing pipeline: `read_csv`, then a `Preprocessor` fitted on
//! the columns it found (numeric ones imputed and scaled, text ones one-hot encoded) and applied
//! to the same table; the same file streamed row by row through `csv_dataset`; and read in
//! chunks of 3 rows (`CsvChunks`, what `sinew train`'s `fit.stream` reads), each chunk growing
//! the fitted recipe's categories into reserved slots and transformed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sinew::data::{
    collect, csv_dataset, read_csv, CategoryFill, CsvChunks, CsvDatasetOptions, CsvOptions, HandleUnknown,
    Preprocessor, Scaling, Strategy,
};

#[global_allocator]
static ALLOC: sinew_fuzz::BoundedAlloc = sinew_fuzz::BoundedAlloc;

fuzz_target!(init: sinew_fuzz::limits(), |data: &[u8]| {
    let p = sinew_fuzz::scratch("table.csv", data);
    if let Ok(df) = read_csv(&p, &CsvOptions::new()) {
        let (mut numeric, mut text) = (vec![], vec![]);
        for c in df.columns() {
            let name = c.name().to_string();
            if c.dtype().is_primitive_numeric() {
                numeric.push(name);
            } else {
                text.push(name);
            }
        }
        let numeric: Vec<&str> = numeric.iter().map(String::as_str).collect();
        let text: Vec<&str> = text.iter().map(String::as_str).collect();
        let pre = Preprocessor::new()
            .numeric(&numeric, Strategy::Mean, Scaling::Standard)
            .categorical(&text, CategoryFill::MostFrequent, true, HandleUnknown::Error);
        if let Ok(mut fitted) = pre.fit(&df) {
            if let Ok(x) = fitted.transform(&df) {
                assert_eq!(x.dims()[0], df.height());
            }
            fitted.reserve_categories(2);
            if let Ok(mut chunks) = CsvChunks::open(&p, &CsvOptions::new(), 3) {
                while let Ok(Some((chunk, lines))) = chunks.next_chunk() {
                    assert!(chunk.height() == lines.len() && (1..=3).contains(&lines.len()));
                    if fitted.grow_categories(&chunk).is_ok() {
                        if let Ok(x) = fitted.transform(&chunk) {
                            assert_eq!(x.dims()[0], chunk.height());
                        }
                    }
                }
            }
        }
    }
    if let Ok(ds) = csv_dataset(&p, &CsvDatasetOptions::new()) {
        let _ = collect(&ds);
    }
});
