"""text_basics"""
