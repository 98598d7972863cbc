"""The dlib face engine on real faces: the same person matches across transformations, six
different people do not match each other, and the one-face rule holds."""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from tongban.biometrics import face
from tongban.biometrics.face import DLIB_COSINE_THRESHOLD, FaceSDK
from tongban.biometrics.interfaces import BiometricError, Modality, Sample, Template

from .conftest import jpeg_bytes, open_image


def _sample(data: bytes) -> Sample:
    return Sample(modality=Modality.FACE, data=data)


@pytest.fixture(scope="module")
def sdk() -> FaceSDK:
    """Decisions at dlib's calibrated cosine threshold (see test_configured_threshold_*)."""
    return FaceSDK(threshold=DLIB_COSINE_THRESHOLD)


@pytest.fixture(scope="module")
def t1_people(t1_jpeg: bytes) -> list[np.ndarray]:
    """The six embeddings of t1.jpg, left to right (one upsampling finds all six faces)."""
    rgb = face.rgb_array(open_image(t1_jpeg))
    faces = sorted(face.detect_faces(rgb, upsample=1), key=lambda f: f.box[0])
    return [face.face_vector(rgb, f, face.face_landmarks(rgb, f)) for f in faces]


def test_astronaut_has_one_face_with_68_landmarks_and_a_unit_embedding(astronaut_jpeg: bytes) -> None:
    rgb = face.rgb_array(open_image(astronaut_jpeg))
    embedded = face.embed_single_face(rgb)
    left, top, right, bottom = embedded.face.box
    assert 150 < left < right < 300 and 60 < top < bottom < 200  # the face, not the mission patch
    assert embedded.landmarks.shape == (68, 2)
    assert embedded.vector.dtype == np.float32 and embedded.vector.shape == (128,)
    assert abs(float(np.linalg.norm(embedded.vector)) - 1) < 1e-5
    assert embedded.detect_ms > 0 and embedded.embed_ms > 0


def test_template_is_512_bytes_of_little_endian_float32(astronaut_jpeg: bytes, sdk: FaceSDK) -> None:
    template = sdk.extract_template(_sample(astronaut_jpeg))
    assert (template.modality, template.format, len(template.data)) == (Modality.FACE, "dlib-128-f32", 512)
    vector = np.frombuffer(template.data, dtype="<f4")
    assert np.array_equal(face.vector_from_template(template), vector)
    assert face.template_from_vector(vector) == template


@pytest.mark.parametrize(
    "template",
    [
        Template(Modality.FACE, "dlib-128-f32", b"\0" * 511),
        Template(Modality.FACE, "dlib-128-f32", np.full(128, 0.5, dtype="<f4").tobytes()),  # not unit length
        Template(Modality.FACE, "dlib-128-f32", np.full(128, np.nan, dtype="<f4").tobytes()),
        Template(Modality.FACE, "vendor-x", np.eye(128, dtype="<f4")[0].tobytes()),
        Template(Modality.FINGER, "dlib-128-f32", np.eye(128, dtype="<f4")[0].tobytes()),
    ],
    ids=["short", "not-normalised", "nan", "other-format", "finger"],
)
def test_bad_templates_are_refused(template: Template, sdk: FaceSDK) -> None:
    good = face.template_from_vector(np.eye(128)[0])
    with pytest.raises(BiometricError) as caught:
        sdk.match(good, [template])
    assert caught.value.code == "bad_template"


def test_same_person_matches_under_shift_scale_lighting_and_compression(
    astronaut_jpeg: bytes, astronaut_variants: dict[str, bytes], sdk: FaceSDK
) -> None:
    probe = sdk.extract_template(_sample(astronaut_jpeg))
    gallery = [sdk.extract_template(_sample(data)) for data in astronaut_variants.values()]
    results = sdk.match(probe, gallery)
    scores = dict(zip(astronaut_variants, (r.score for r in results), strict=True))
    assert all(r.matched for r in results), scores
    assert min(scores.values()) >= 0.97  # measured ≥ 0.987: far above the threshold


def test_standard_photo_matches_the_original(
    astronaut_jpeg: bytes, astronaut_standard: bytes, sdk: FaceSDK
) -> None:
    [result] = sdk.match(
        sdk.extract_template(_sample(astronaut_jpeg)), [sdk.extract_template(_sample(astronaut_standard))]
    )
    assert result.matched and result.score > 0.97


def test_six_people_of_t1_do_not_match_each_other(t1_people: list[np.ndarray], sdk: FaceSDK) -> None:
    assert len(t1_people) == 6
    templates = [face.template_from_vector(v) for v in t1_people]
    for i, j in itertools.combinations(range(6), 2):
        [result] = sdk.match(templates[i], [templates[j]])
        assert not result.matched, (i, j, result.score)
        assert result.score == pytest.approx(face.cosine_similarity(t1_people[i], t1_people[j]), abs=1e-6)
        assert result.score < DLIB_COSINE_THRESHOLD


def test_other_people_do_not_match_the_astronaut(
    astronaut_jpeg: bytes, tom_hanks_jpeg: bytes, t1_people: list[np.ndarray], sdk: FaceSDK
) -> None:
    probe = sdk.extract_template(_sample(astronaut_jpeg))
    tom = sdk.extract_template(_sample(tom_hanks_jpeg))
    gallery = [tom, *(face.template_from_vector(v) for v in t1_people)]
    assert not any(r.matched for r in sdk.match(probe, gallery))


def test_a_group_photo_has_several_faces(t1_jpeg: bytes, sdk: FaceSDK) -> None:
    with pytest.raises(BiometricError) as caught:
        sdk.extract_template(_sample(t1_jpeg))
    assert caught.value.code == "several_faces"
    assert "张人脸" in caught.value.message


def test_masked_faces_give_no_face(masked_jpegs: dict[str, bytes], sdk: FaceSDK) -> None:
    """HOG does not find faces behind masks: the clerk is told to have the mask taken off."""
    for data in masked_jpegs.values():
        with pytest.raises(BiometricError) as caught:
            sdk.extract_template(_sample(data))
        assert caught.value.code == "no_face"


def test_unreadable_photo_and_wrong_modality_are_clear_errors(sdk: FaceSDK) -> None:
    with pytest.raises(BiometricError) as caught:
        sdk.extract_template(_sample(b"not a photo"))
    assert caught.value.code == "not_jpeg"
    with pytest.raises(BiometricError) as caught:
        sdk.extract_template(Sample(modality=Modality.FINGER, data=b"", position="11"))
    assert caught.value.code == "wrong_modality"


def test_match_keeps_gallery_order_and_handles_an_empty_gallery(astronaut_jpeg: bytes, sdk: FaceSDK) -> None:
    probe = sdk.extract_template(_sample(astronaut_jpeg))
    other = face.template_from_vector(-face.vector_from_template(probe))
    results = sdk.match(probe, [other, probe])
    assert [r.matched for r in results] == [False, True]
    assert results[0].score == pytest.approx(-1, abs=1e-5) and results[1].score == pytest.approx(1, abs=1e-5)
    assert all(r.threshold == DLIB_COSINE_THRESHOLD for r in results)
    assert sdk.match(probe, []) == []


def test_concurrent_embeddings_are_identical(astronaut_jpeg: bytes) -> None:
    rgb = face.rgb_array(open_image(astronaut_jpeg))
    with ThreadPoolExecutor(max_workers=4) as pool:
        vectors = list(pool.map(lambda _: face.embed_single_face(rgb).vector, range(8)))
    assert all(np.array_equal(v, vectors[0]) for v in vectors)


def test_configured_threshold_is_used_and_a_too_low_one_is_warned_about(settings, caplog) -> None:
    settings.BIOMETRICS = {**settings.BIOMETRICS, "FACE_THRESHOLD": 0.95}
    assert FaceSDK().threshold == 0.95
    settings.BIOMETRICS = {**settings.BIOMETRICS, "FACE_THRESHOLD": 0.81}
    with caplog.at_level(logging.WARNING, logger="tongban.biometrics.face"):
        assert FaceSDK().threshold == 0.81
    assert "different people match" in caplog.text


def test_quality_of_a_standard_photo_follows_the_photo_rules(astronaut_standard: bytes, standard) -> None:
    sdk = FaceSDK(threshold=DLIB_COSINE_THRESHOLD, standard=standard)
    good = sdk.check_quality(_sample(astronaut_standard))
    assert (good.passed, good.score, good.reasons) == (True, 100.0, ())
    grey = jpeg_bytes(Image.new("RGB", (358, 441), (128, 128, 128)), quality=70)
    bad = sdk.check_quality(_sample(grey))
    assert not bad.passed and bad.score < 100
    assert any("背景" in reason for reason in bad.reasons)


def test_quality_of_other_photos_judges_every_face(astronaut: Image.Image, t1_jpeg: bytes, standard) -> None:
    sdk = FaceSDK(threshold=DLIB_COSINE_THRESHOLD, standard=standard)
    # An applicant photographed with a guardian: two clear faces side by side.
    pair = Image.new("RGB", (720, 400), "white")
    pair.paste(astronaut.crop((120, 20, 320, 260)), (60, 80))
    pair.paste(astronaut.crop((120, 20, 320, 260)).transpose(Image.Transpose.FLIP_LEFT_RIGHT), (420, 80))
    assert sdk.check_quality(_sample(jpeg_bytes(pair))).passed
    group = sdk.check_quality(_sample(t1_jpeg))
    assert not group.passed and group.reasons and 0 < group.score < 100
    unreadable = sdk.check_quality(_sample(b"\xff\xd8\xff garbage"))
    assert (unreadable.passed, unreadable.score) == (False, 0.0) and unreadable.reasons
