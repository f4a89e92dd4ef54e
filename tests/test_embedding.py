import sqlite3

import numpy as np
import pytest

from evals.embedding import DIM, TextEmbedder, unit_mean
from evals.errors import UserError


def test_vectors_are_unit_length_and_the_same_text_gives_the_same_vector() -> None:
    e = TextEmbedder()
    v = e.embed(["Where is my parcel?", "Where is my parcel?", "Wo ist mein Paket?"])
    assert v.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    assert np.array_equal(v[0], v[1]) and v[0] @ v[2] > 0.85  # same meaning across languages


def test_the_cache_file_serves_a_new_process_without_the_model_and_holds_no_text(tmp_path) -> None:
    path = tmp_path / "emb.sqlite"
    first = TextEmbedder(path).embed(["my card number is 4111 1111 1111 1111"])
    second = TextEmbedder(path)
    second._model = None  # any call into the model would now fail
    assert np.array_equal(second.embed(["my card number is 4111 1111 1111 1111"]), first)
    assert b"4111" not in path.read_bytes()
    keys = [k for (k,) in sqlite3.connect(path).execute("SELECT key FROM vectors")]
    assert len(keys) == 1 and keys[0].startswith(second.version)


def test_an_unusable_cache_file_is_a_one_line_user_error(tmp_path) -> None:
    not_a_db = tmp_path / "cache.sqlite"
    not_a_db.write_text("this is not a database")
    with pytest.raises(UserError, match=r"embedding cache .*cache.sqlite: cannot use it .*set it to null"):
        TextEmbedder(not_a_db)


def test_a_texts_vector_is_the_unit_mean_of_its_sentences_and_zero_stays_zero() -> None:
    whole = unit_mean(np.array([[3.0, 0.0], [1.0, 0.0], [0.0, 2.0]]))
    assert np.allclose(whole, np.array([4.0, 2.0]) / np.linalg.norm([4.0, 2.0]))
    assert np.array_equal(unit_mean(np.zeros((2, 3))), np.zeros(3))
