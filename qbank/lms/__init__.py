"""Quizzes for learning management systems: verified variants of a blueprint's slots as Moodle XML
(qbank.lms.moodle) and Canvas QTI 1.2 (qbank.lms.canvas), built from the questions of qbank.lms.common
(HTML, names, idents) and the fields of qbank.lms.fields (what the LMS grades), by qbank.lms.export."""
