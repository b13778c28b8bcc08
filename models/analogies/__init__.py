"""analogies"""
